"""deepdream — DeepDream / inceptionism (Mordvintsev et al. 2015): amplify what a network sees in a photo."""

from ...core.app import App, Headline, Output, Param
from ...core.backbones import ASSETS as BACKBONE_ASSETS

APP = App(
    id="deepdream",
    title="DeepDream / inceptionism",
    paper="Mordvintsev, Olah & Tyka 2015, Inceptionism: Going Deeper into Neural Networks",
    paper_url="https://research.google/blog/inceptionism-going-deeper-into-neural-networks/",
    summary=(
        "Gradient ascent on a photo to amplify what one layer (or one channel) of an ImageNet network sees, with "
        "the original's octaves, jitter and normalised gradient steps; guided dreaming from a guide image, "
        "zoom-in animations (MP4/GIF) and video. GoogLeNet when its torchvision weights are present, otherwise the "
        "offline EfficientNet-Lite0 (or the text-tuned CRAFT VGG16-BN, which dreams letters)."
    ),
    status="built",
    extra="art",
    entry="deepgallery.apps.deepdream.entry",
    inputs=(
        Param("image", "image", "the photo to dream on"),
        Param("backbone", "choice", "network (auto: the best installed)", default="auto",
              choices=("auto", "googlenet", "vgg16", "vgg19", "efficientnet-lite0", "craft-vgg16bn")),
        Param("layer", "text", "layer to amplify, e.g. inception4c, block9, relu4_2 (empty: the default)", default=""),
        Param("channel", "int", "amplify only this channel (-1: the whole layer)", default=-1, minimum=-1,
              maximum=2047, step=1),
        Param("guide", "image", "optional guide image: dream its features", default=None),
        Param("octaves", "int", "scales, coarse to fine", default=3, minimum=1, maximum=8, step=1),
        Param("steps", "int", "ascent steps per octave", default=8, minimum=1, maximum=50, step=1),
        Param("size", "int", "longer side of the result in px", default=320, minimum=64, maximum=1024, step=32),
        Param("zoom_frames", "int", "> 0: a zoom-in animation (MP4) of this many frames", default=0, minimum=0,
              maximum=120, step=1),
    ),
    outputs=(
        Output("image", "image", "the dream"),
        Output("video", "video", "the zoom-in animation"),
        Output("info", "text", "network, layer, time and how much the objective rose"),
    ),
    assets=(BACKBONE_ASSETS["googlenet"], BACKBONE_ASSETS["vgg16"], BACKBONE_ASSETS["efficientnet-lite0"],
            BACKBONE_ASSETS["craft-vgg16bn"]),
    headline=Headline("seconds_512", "seconds per 512 px dream, CPU", "not reported", "{:.1f} s"),
)
