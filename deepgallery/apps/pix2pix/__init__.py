"""pix2pix — image-to-image translation with conditional adversarial networks (Isola et al. 2017)."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="pix2pix",
    title="Image-to-image translation (draw edges, get a photo)",
    paper="Isola, Zhu, Zhou & Efros 2017, Image-to-Image Translation with Conditional Adversarial Networks",
    paper_url="https://arxiv.org/abs/1611.07004",
    summary=(
        "The paper's conditional GAN: a U-Net generator with skips and dropout as noise, a 70x70 PatchGAN "
        "discriminator, L1 + cGAN loss. Draw edges and get a photo, or translate images, folders and videos; "
        "train on any paired dataset (A|B side by side or aligned A/ B/ folders), or make pairs from your photos "
        "(edges, grayscale or superpixels -> photo). The shipped model turns edges into photos, trained on the "
        "offline photo corpus, beside an L1-only twin (the paper's Table 1 ablation)."
    ),
    status="built",
    extra="art",
    entry="deepgallery.apps.pix2pix.entry",
    inputs=(
        Param("sketch", "sketch", "draw edges in black on white (or upload a drawing or, with 'photo' ticked, a "
                                  "photo)"),
        Param("photo", "bool", "the upload is a photo: translate its Canny edges (a photo re-drawn by the model)",
              default=False),
        Param("seed", "int", "the noise z (dropout): another seed, another photo", default=0, minimum=0,
              maximum=9999, step=1),
    ),
    outputs=(
        Output("photo", "image", "cGAN + L1: the paper's generator"),
        Output("photo_l1", "image", "L1 alone: the ablation (Table 1), blurrier"),
        Output("edges", "image", "the edge map the generators saw (strokes thinned and redrawn 2 px wide)"),
    ),
    checkpoints=("edges2photo", "edges2photo_l1"),
    headline=Headline("kid", "KID, edges -> photo on held-out photos (lower is better; L1 alone: higher)",
                      "no KID (Table 1: FCN-score 0.66 vs 0.42 for L1 alone, Cityscapes)", "{:.3f}"),
)
