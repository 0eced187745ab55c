"""ppgn — Plug & Play Generative Networks (Nguyen et al. 2017): images a classifier believes are class X."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="ppgn",
    title="Plug & Play Generative Networks",
    paper="Nguyen et al. 2017, Plug & Play Generative Networks",
    paper_url="https://arxiv.org/abs/1612.00005",
    summary=(
        "Generate images that an ImageNet classifier (EfficientNet-Lite0) believes show a class you name: "
        "the paper's sampler (prior term from a denoising autoencoder + class gradient + noise, PPGN-x), "
        "with plain activation maximisation as the baseline."
    ),
    status="built",
    extra="art",
    entry="deepgallery.apps.ppgn.entry",
    inputs=(
        Param("class_name", "text", "an ImageNet class name or a word in one (fuzzy: 'cat', 'volcano', 'goldfish')",
              default="volcano"),
        Param("samples", "int", "number of images to generate", default=4, minimum=1, maximum=16, step=1),
        Param("steps", "int", "sampler steps (more: higher confidence, slower)", default=60, minimum=1,
              maximum=1000, step=1),
        Param("method", "choice", "ppgn (the paper's sampler) or am (plain activation maximisation)",
              default="ppgn", choices=("ppgn", "am")),
        Param("seed", "int", "random seed", default=0, minimum=0, step=1),
        Param("init", "image", "optional: start the chains from this photo instead of noise", default=None),
    ),
    outputs=(
        Output("grid", "image", "the samples, each with the classifier's confidence written under it"),
        Output("result", "json", "class, method, confidences and settings"),
    ),
    checkpoints=("dae",),
    headline=Headline("ppgn_mean_confidence", "classifier confidence in the asked class", "not reported", "{:.2f}"),
)
