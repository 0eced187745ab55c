"""deepwarp — gaze redirection (Ganin et al. 2016): make the eyes in a photo look in a chosen direction."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="deepwarp",
    title="Gaze redirection",
    paper="Ganin et al. 2016, DeepWarp: Photorealistic Image Resynthesis for Gaze Manipulation",
    paper_url="https://arxiv.org/abs/1607.07215",
    summary=(
        "Makes the eyes in a photo, a video or a webcam stream look in a chosen direction, and animates them "
        "looking around. Eyes are found by the MediaPipe face mesh with iris; the paper's coarse-to-fine "
        "warping network with lightness correction, trained here on procedural eye renders, moves the iris."
    ),
    status="built",
    extra="people",
    entry="deepgallery.apps.deepwarp.entry",
    inputs=(
        Param("image", "image", "a photo with a face (eyes open, roughly frontal)", default=None),
        Param("yaw", "float", "horizontal redirection in degrees (+ = towards the image's right)", default=15.0,
              minimum=-25.0, maximum=25.0, step=1.0),
        Param("pitch", "float", "vertical redirection in degrees (+ = up)", default=-10.0,
              minimum=-25.0, maximum=25.0, step=1.0),
        Param("animate", "bool", "also make the GIF of the eyes looking around", default=True),
    ),
    outputs=(
        Output("image", "image", "the photo with the eyes redirected"),
        Output("animation", "video", "GIF: the eyes looking around (the paper's animation)"),
        Output("gaze", "json", "measured gaze of each eye before and after, degrees"),
    ),
    checkpoints=("deepwarp",),
    headline=Headline("gaze_error_deg", "gaze error after redirection", "not reported", "{:.2f}°"),
)
