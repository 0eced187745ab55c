"""plankton — the winning solution of the Kaggle National Data Science Bowl 2015 (Dieleman et al., ≋Deep Sea≋)."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="plankton",
    title="Plankton species classification",
    paper="Dieleman et al. 2015, Kaggle NDSB (kaggle-ndsb)",
    paper_url="https://benanne.github.io/2015/03/17/plankton.html",
    summary=(
        "Classify images of things that have no up or down with the NDSB 2015 winners' recipe: the input in four "
        "rotations through one network, cyclic roll layers sharing features between them, cyclic pooling, leaky "
        "ReLUs, the image's size as an extra input, heavy augmentation, test-time augmentation and model "
        "averaging. Trains on any folder-per-class dataset (NDSB, WHOI-Plankton); the shipped model knows the "
        "10 Fashion-MNIST classes at any rotation (no plankton images exist offline)."
    ),
    status="built",
    extra="",
    entry="deepgallery.apps.plankton.entry",
    inputs=(
        Param("image", "image", "a picture of one object (dark on light or light on dark), any orientation"),
        Param("top", "int", "how many classes to list", default=3, minimum=1, maximum=10, step=1),
        Param("tta", "bool", "test-time augmentation (8 transforms; slower, usually better calibrated)",
              default=True),
        Param("model", "choice", "cyclic (the team's network), plain (a CNN of equal size) or both averaged",
              default="cyclic", choices=("cyclic", "plain", "both")),
    ),
    outputs=(
        Output("result", "text", "the top classes with their probabilities"),
        Output("probabilities", "json", "every class with its probability"),
    ),
    checkpoints=("cyclic", "plain"),
    headline=Headline("logloss", "log loss, rotated Fashion-MNIST (not plankton)", "≈ 0.609 on NDSB plankton",
                      "{:.3f}"),
)
