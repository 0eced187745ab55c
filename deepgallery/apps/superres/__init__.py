"""superres — Pixel Recursive Super Resolution (Dahl, Norouzi & Shlens, ICCV 2017)."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="superres",
    title="Pixel recursive super resolution",
    paper="Dahl, Norouzi & Shlens 2017, Pixel Recursive Super Resolution",
    paper_url="https://arxiv.org/abs/1702.00783",
    summary=(
        "Magnify a tiny image ×4 and get several plausible answers, not one blur: a ResNet reads the low-resolution "
        "input, a gated PixelCNN draws the high-resolution image subpixel by subpixel, their logits added, with a "
        "temperature. Beside it the paper's L2-regression baseline, and cached incremental sampling (Ramachandran "
        "et al. 2017). The shipped model magnifies 7×7 grey Fashion-MNIST items to 28×28 (no faces dataset exists "
        "offline); `train superres --data celeba DIR` trains the paper's 8×8 → 32×32 face model."
    ),
    status="built",
    extra="",
    entry="deepgallery.apps.superres.entry",
    inputs=(
        Param("image", "image", "a small picture of one object (larger ones are shrunk to 7×7 first)"),
        Param("samples", "int", "how many samples to draw", default=4, minimum=1, maximum=16, step=1),
        Param("temperature", "float", "sampling temperature (0: the most likely intensity, 1: the model's own "
              "distribution)", default=0.8, minimum=0.0, maximum=2.0, step=0.1),
        Param("seed", "int", "random seed of the samples", default=0, minimum=0, step=1),
    ),
    outputs=(
        Output("grid", "image", "input, nearest-neighbour, L2 regression, then the samples"),
        Output("result", "text", "what was done"),
    ),
    checkpoints=("fashion", "classifier"),
    headline=Headline("psnr_sample", "pSNR dB, best of k samples, Fashion-MNIST ×4", "29.09 dB on CelebA 8→32",
                      "{:.2f}"),
)
