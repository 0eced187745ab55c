"""colorize — Let there be Color! (Iizuka, Simo-Serra & Ishikawa, SIGGRAPH 2016), with user hints (Zhang 2017)."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="colorize",
    title="Colorize black-and-white photos and video",
    paper="Iizuka, Simo-Serra & Ishikawa 2016, Let there be Color!",
    paper_url="https://iizuka.cs.tsukuba.ac.jp/projects/colorization/en/",
    summary=(
        "Colour a grayscale photo, an old sepia scan or a black-and-white video with the paper's network: shared "
        "low-level features, a global branch that sees the whole scene at 224x224, mid-level features, the fusion "
        "layer, and a colorization network predicting the a*b* chrominance of CIE L*a*b*. Click a point and pick a "
        "colour to fix a wrong one (user hints, as in Zhang et al. 2017); video frames are kept consistent along "
        "the optical flow. Trains on any folder of photos; the shipped model was trained on the offline photo "
        "corpus (a few dozen photographs), not on Places."
    ),
    status="built",
    extra="art",
    entry="deepgallery.apps.colorize.entry",
    inputs=(
        Param("image", "image", "a black-and-white (or sepia, or colour: only its lightness is used) photo"),
        Param("hints", "points", "colour hints: click the photo to add x,y,#RRGGBB with the picked colour "
                                 "(one per line; empty: fully automatic)", default=""),
        Param("denoise", "bool", "smooth film grain / scan noise first (old photos)", default=False),
    ),
    outputs=(
        Output("comparison", "image", "before (the grayscale input) | after (colorized)"),
        Output("image", "image", "the colorized photo at the input's size"),
    ),
    checkpoints=("colorize",),
    headline=Headline("psnr_ab", "PSNR of a*b* (dB), held-out photos", "— (the paper reports a user study)",
                      "{:.1f}"),
)
