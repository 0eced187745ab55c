"""ppgn: the sampler's three terms, the DAE prior, class-name matching, outputs and bad inputs."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from deepgallery.apps.ppgn.classes import match_class
from deepgallery.apps.ppgn.classifier import class_names
from deepgallery.apps.ppgn.pipeline import diversity
from deepgallery.apps.ppgn.sampler import SamplerConfig, activation_maximisation, ppgn_step, sample
from deepgallery.cli import main
from deepgallery.core.errors import UserError


def tiny_classifier(seed: int = 0, k: int = 5, size: int = 8) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * size * size, k)).eval()


def test_prior_term_moves_x_toward_reconstruction():
    """ε2 = ε3 = 0: x_{t+1} = x_t + ε1 (R(x_t) − x_t), so the distance to R shrinks by (1 − ε1)."""
    target = torch.full((2, 3, 8, 8), 0.8)
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 0.5
    cfg = SamplerConfig(eps1=0.3, eps2=0.0, eps3=0.0)
    x1, _ = ppgn_step(x, torch.tensor([0, 1]), tiny_classifier(), lambda z: target, cfg, torch.Generator())
    before, after = (x - target).norm().item(), (x1 - target).norm().item()
    assert after == pytest.approx(0.7 * before, rel=1e-5)


def test_class_term_increases_log_prob():
    clf = tiny_classifier()
    cfg = SamplerConfig(steps=15, size=8, eps1=0.0, eps2=0.02, eps3=0.0)
    out = sample(3, 4, clf, None, cfg, seed=0)
    trace = out["trace"]
    assert trace[-1] > trace[0] + 0.5
    assert bool((trace[1:] >= trace[:-1] - 1e-4).all())  # small steps: monotone ascent


def test_noise_term_has_std_eps3():
    x = torch.full((4, 3, 16, 16), 0.5)
    cfg = SamplerConfig(eps1=0.0, eps2=0.0, eps3=0.01, clip=False)
    x1, _ = ppgn_step(x, torch.zeros(4, dtype=torch.long), tiny_classifier(size=16), None, cfg,
                      torch.Generator().manual_seed(0))
    assert (x1 - x).std().item() == pytest.approx(0.01, rel=0.1)


def test_baseline_is_the_sampler_without_prior_and_noise():
    cfg = activation_maximisation(SamplerConfig(eps1=0.5, eps3=0.1))
    assert (cfg.eps1, cfg.eps3) == (0.0, 0.0) and cfg.eps2 > 0
    clf = tiny_classifier()
    cfg = replace(cfg, steps=3, size=8)
    a, b = sample(1, 2, clf, None, cfg, seed=5), sample(1, 2, clf, None, cfg, seed=5)
    assert torch.equal(a["images"], b["images"])


def test_prior_pulls_chain_toward_smooth_images():
    """With a blurring 'reconstruction', the prior term lowers the high-frequency energy the class term adds."""
    blur = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    clf = tiny_classifier(size=16)
    base = SamplerConfig(steps=20, size=16, eps1=0.0, eps2=0.05, eps3=0.0)
    plain = sample(2, 2, clf, None, base, seed=0)["images"]
    prior = sample(2, 2, clf, blur, replace(base, eps1=0.5), seed=0)["images"]

    def hf(x):
        return (x[..., 1:] - x[..., :-1]).abs().mean()

    assert hf(prior) < hf(plain)


@pytest.fixture
def one_thread():
    """Tiny convolutions on a busy 2-core machine: one thread is ~20x faster than two (no assert on time)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_dae_prior_learns_and_resumes(tmp_path, one_thread):
    from deepgallery.apps.ppgn.prior import DAEConfig
    from deepgallery.apps.ppgn.train import TrainConfig, export_fp16, load_dae, train_dae
    from deepgallery.core.media import save_image

    rng = np.random.default_rng(0)
    for i in range(3):  # smooth synthetic "photos": colour gradients plus a square
        yy, xx = np.mgrid[0:40, 0:40] / 40.0
        img = np.stack([yy, xx, 0.5 * (yy + xx)], -1) * rng.uniform(0.5, 1, 3)
        img[10:25, 12:30] = rng.uniform(0, 1, 3)
        save_image(tmp_path / "photos" / f"{i}.png", img)
    cfg = TrainConfig(steps=80, batch=8, crop=16, lr=3e-3, save_every=40)
    dae_cfg = DAEConfig(width=8, blocks=1)
    dae, losses = train_dae(tmp_path / "run", cfg, dae_cfg, data=tmp_path / "photos", log=lambda s: None)
    assert np.mean(losses[-15:]) < 0.6 * np.mean(losses[:15])
    _, more = train_dae(tmp_path / "run", replace(cfg, steps=90), dae_cfg, data=tmp_path / "photos",
                        log=lambda s: None)
    assert len(more) == 10  # resumed at step 80
    export_fp16(dae, tmp_path / "prior", {})
    loaded = load_dae(tmp_path / "prior")
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(loaded(x), dae(x), atol=5e-3)


def test_class_name_matching():
    names = class_names()
    assert match_class("Volcano", names).name == "volcano"
    assert match_class("207", names).index == 207
    cat = match_class("cat", names)
    assert cat.name == "tabby cat" and "Persian cat" in cat.alternatives and cat.how == "word"
    assert "catamaran" not in cat.alternatives  # whole words only
    with pytest.raises(UserError, match="goldfish"):
        match_class("goldfsh", names)
    with pytest.raises(UserError, match="0..999"):
        match_class("1000", names)


def test_diversity_metric():
    assert diversity(torch.ones(3, 5)) == pytest.approx(0.0, abs=1e-6)
    assert diversity(torch.eye(4)) == pytest.approx(1.0)


@pytest.mark.parametrize("argv, needle", [
    (["xqzt-not-a-class"], "unknown ImageNet class"),
    (["goldfsh"], "goldfish"),
    (["volcano", "-n", "0"], "samples"),
    (["volcano", "--steps", "-3"], "steps"),
    (["volcano", "--eps1", "-1"], "--eps1"),
    (["volcano", "--size", "30"], "multiple of 4"),
])
def test_bad_input_exits_2_with_one_line(argv, needle, capsys, tmp_path):
    out = tmp_path / "g.png"
    assert main(["run", "ppgn", *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not out.exists()


def test_non_image_init_exits_2(capsys, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    out = tmp_path / "g.png"
    assert main(["run", "ppgn", "volcano", "--init", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a readable image" in err
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_run_writes_grid_and_json(tmp_path, capsys):
    out = tmp_path / "g.png"
    argv = ["run", "ppgn", "goldfish", "-n", "2", "--steps", "2", "--size", "64", "--threads", "1", "-o", str(out)]
    assert main(argv) == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["class"] == "goldfish" and len(record["confidence"]) == 2
    assert all(0.0 <= c <= 1.0 for c in record["confidence"])
    from PIL import Image

    with Image.open(out) as im:
        assert im.width > 2 * 64


def test_predict_returns_grid_and_confidences(one_thread):
    from deepgallery.apps.ppgn.entry import predict

    out = predict(class_name="cat", samples=1, steps=1, method="am", seed=3)
    assert out["grid"].is_file() and out["grid"].suffix == ".png"
    assert out["result"]["class"] == "tabby cat" and len(out["result"]["confidence"]) == 1
    assert "tiger cat" in out["result"]["other_matches"]
