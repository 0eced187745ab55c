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


def write_photos(folder, n: int = 3) -> None:
    """Smooth synthetic "photos": colour gradients plus a square."""
    from deepgallery.core.media import save_image

    rng = np.random.default_rng(0)
    for i in range(n):
        yy, xx = np.mgrid[0:40, 0:40] / 40.0
        img = np.stack([yy, xx, 0.5 * (yy + xx)], -1) * rng.uniform(0.5, 1, 3)
        img[10:25, 12:30] = rng.uniform(0, 1, 3)
        save_image(folder / f"{i}.png", img)


def test_dae_prior_learns_and_resumes(tmp_path, one_torch_thread):
    """Tiny convolutions on a busy 2-core machine: one thread is ~20x faster than two (no assert on time)."""
    from deepgallery.apps.ppgn.prior import DAEConfig, load_dae
    from deepgallery.apps.ppgn.train import TrainConfig, export_fp16, train_dae

    write_photos(tmp_path / "photos")
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
    with pytest.raises(UserError, match="dae="):  # another network shape in the run folder: one line, no traceback
        train_dae(tmp_path / "run", replace(cfg, steps=95), DAEConfig(width=16, blocks=1), data=tmp_path / "photos",
                  log=lambda s: None)


# width 16: two channels per GroupNorm group (with 8 channels in 8 groups a conv bias before the norm has a zero
# gradient, whose rounding noise Adam scales up to full steps, and two runs cannot agree on it)
TINY_TRAIN = ("--steps", "4", "--batch", "4", "--crop", "16", "--width", "16", "--lr", "3e-3", "--threads", "1",
              "--device", "cpu")


def test_train_cli_on_cpu_writes_a_resumable_run_and_an_fp16_prior(tmp_path, run_cli, one_torch_thread):
    from deepgallery.core import checkpoint

    write_photos(tmp_path / "photos")
    code, out, err = run_cli("train", "ppgn", "--data", tmp_path / "photos", "--out", tmp_path / "run",
                             "--export", tmp_path / "prior", *TINY_TRAIN)
    assert code == 0, err
    assert "prior written to" in out
    state, config, meta = checkpoint.load(tmp_path / "run" / "dae")
    assert meta["step"] == 4 and config["dae"]["width"] == 16 and meta["_optimizer"]  # resumable: Adam state too
    assert all(v.dtype == torch.float32 for v in state.values())
    shipped, _, _ = checkpoint.load(tmp_path / "prior")
    assert all(v.dtype == torch.float16 for v in shipped.values()) and shipped.keys() == state.keys()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_train_device_flag_reaches_the_device_choice(tmp_path, run_cli):
    code, _, err = run_cli("train", "ppgn", "--data", tmp_path, "--out", tmp_path / "run", "--device", "cuda")
    assert code == 2 and "no CUDA GPU" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv, needle", [
    (["--crop", "18"], "multiple of 4"),
    (["--width", "12"], "multiple of 8"),
    (["--steps", "0"], "--steps"),
    (["--lr", "0"], "--lr"),
])
def test_bad_train_flags_exit_2_with_one_line(argv, needle, tmp_path, run_cli):
    code, _, err = run_cli("train", "ppgn", "--out", tmp_path / "run", "--device", "cpu", *argv)
    assert code == 2 and needle in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_two_gloo_processes_train_the_same_prior_as_one(tmp_path, run_cli, torchrun_cli, one_torch_thread):
    """Every process draws the same global batch (crops and noise) and trains on its half; DDP averages the
    gradients. The DAE has GroupNorm (no batch statistics), so the weights match up to float rounding."""
    from deepgallery.core import checkpoint

    write_photos(tmp_path / "photos")
    common = ("train", "ppgn", "--data", tmp_path / "photos", *TINY_TRAIN)
    code, _, err = run_cli(*common, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, _, meta_one = checkpoint.load(tmp_path / "one" / "dae")
    two, _, meta_two = checkpoint.load(tmp_path / "two" / "dae")
    assert meta_one["step"] == meta_two["step"] == 4
    assert meta_two["loss"] == pytest.approx(meta_one["loss"], rel=1e-4)  # the mean over both halves
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)


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
def test_bad_input_exits_2_with_one_line(argv, needle, run_cli, tmp_path):
    out = tmp_path / "g.png"
    code, _, err = run_cli("run", "ppgn", *argv, "-o", out)
    assert code == 2
    assert len(err.splitlines()) == 1 and needle in err
    assert not out.exists()


def test_non_image_init_exits_2(run_cli, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    out = tmp_path / "g.png"
    code, _, err = run_cli("run", "ppgn", "volcano", "--init", bad, "-o", out)
    assert code == 2
    assert len(err.splitlines()) == 1 and "not a readable image" in err
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_run_writes_grid_and_json(tmp_path, run_cli):
    out = tmp_path / "g.png"
    code, _, err = run_cli("run", "ppgn", "goldfish", "-n", "2", "--steps", "2", "--size", "64", "--threads", "1",
                           "--device", "cpu", "-o", out)
    assert code == 0, err
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["class"] == "goldfish" and len(record["confidence"]) == 2
    assert all(0.0 <= c <= 1.0 for c in record["confidence"])
    from PIL import Image

    with Image.open(out) as im:
        assert im.width > 2 * 64


def test_predict_returns_grid_and_confidences(one_torch_thread):
    from deepgallery.apps.ppgn.entry import predict

    out = predict(class_name="cat", samples=1, steps=1, method="am", seed=3)
    assert out["grid"].is_file() and out["grid"].suffix == ".png"
    assert out["result"]["class"] == "tabby cat" and len(out["result"]["confidence"]) == 1
    assert "tiger cat" in out["result"]["other_matches"]
