"""face2face — real-time facial reenactment (Thies et al. 2016): a source actor's expressions drive a target face."""

from pathlib import Path

from ...core.app import App, Headline, Output, Param

EXAMPLES = Path(__file__).parent / "examples"

APP = App(
    id="face2face",
    title="Face2Face: live facial reenactment",
    paper="Thies et al. 2016, Face2Face: Real-time Face Capture and Reenactment of RGB Videos",
    paper_url="https://openaccess.thecvf.com/content_cvpr_2016/html/Thies_Face2Face_Real-Time_Face_CVPR_2016_paper.html",
    summary=(
        "A source actor's facial expressions drive a target person's face in a photo or video, live from a webcam "
        "too: dense 3-D face landmarks (MediaPipe Face Mesh) in both streams, head pose removed by Procrustes, the "
        "source's expression change moved onto the target, the target's own pixels warped along the face mesh, the "
        "mouth interior retrieved from the target's frames, Poisson blending. No 3-D morphable model is fitted."
    ),
    status="built",
    extra="people",
    entry="deepgallery.apps.face2face.entry",
    inputs=(
        Param("source", "video", "the actor: a video (or photo) of a face whose expression changes; its first "
              "frames are taken as the neutral face", default=str(EXAMPLES / "actor.mp4")),
        Param("target", "image", "the person to reenact: a photo (or video) with one face",
              default=str(EXAMPLES / "astronaut.jpg")),
        Param("layout", "choice", "result only, or source | target | result side by side", default="side-by-side",
              choices=("result", "side-by-side")),
        Param("blend", "choice", "poisson (gradient-domain, the paper's), poisson-exact (full-size solve, slower) "
              "or feather (alpha blend, fastest)", default="poisson", choices=("poisson", "poisson-exact", "feather")),
    ),
    outputs=(
        Output("video", "video", "the target face with the source's expressions (MP4)"),
        Output("report", "json", "frames, frames left unchanged (no face) and speed"),
    ),
    headline=Headline("fps", "frames/s, whole pipeline, 2-core CPU", "~28 fps (GPU)", "{:.0f} fps"),
)
