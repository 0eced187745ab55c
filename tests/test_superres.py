"""superres: the prior is causal in the paper's subpixel order, the cached sampler draws exactly the naive loop's
samples, sampling follows softmax((A + B) / T), the loss is Sec. 3.2's, training learns and resumes, the CelebA
loader reads its layout, the run command's grid and its bad inputs, and two gloo processes train as one.
The data are fixtures made here (squares and discs, a CelebA-layout folder); only the tests that say so need the
Debian Fashion-MNIST package or the shipped checkpoint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from deepgallery.apps.superres import APP
from deepgallery.apps.superres.data import pairs, read_celeba, shrink
from deepgallery.apps.superres.model import (
    ModelConfig,
    PixelRecursiveSR,
    RegressionSR,
    pick,
    sample_cached,
    sample_naive,
    to_unit,
    uniforms,
)
from deepgallery.apps.superres.train import TrainConfig, export, train
from deepgallery.core import checkpoint
from deepgallery.core.errors import UserError
from deepgallery.core.fashion_mnist import FASHION_DIR

TINY = dict(cond_width=8, cond_blocks=1, prior_width=6, prior_layers=3, kernel=3, head_width=24)


def tiny(channels: int, low: int = 3, factor: int = 2, seed: int = 0) -> PixelRecursiveSR:
    torch.manual_seed(seed)
    net = PixelRecursiveSR(ModelConfig(channels=channels, low_size=low, factor=factor, **TINY)).double().eval()
    with torch.no_grad():  # biases away from zero so no path is trivially silent
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


def shapes(n: int, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Grey images of a bright square or disc (label 0 / 1) at a random place and size on black."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, labels = [], []
    for i in range(n):
        r, (cy, cx) = rng.integers(2, size // 3), rng.integers(size // 3, 2 * size // 3, size=2)
        square = (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r)
        mask = square if i % 2 == 0 else (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        images.append(np.where(mask, rng.integers(150, 256), 0).astype(np.uint8))
        labels.append(i % 2)
    return np.stack(images), np.array(labels)


# ----------------------------------------------------------------------------------------------- the model


@pytest.mark.parametrize("channels", [1, 3])
def test_prior_sees_only_the_subpixels_before_each_one(channels, one_torch_thread):
    """Changing subpixel i (raster order, R then G then B within a pixel) changes no logits of subpixels <= i and
    some after it: the gated stacks and the channel masks are causal, without a blind spot above."""
    net = tiny(channels)
    size = 6
    y = torch.randint(0, 256, (1, channels, size, size)).double()
    base = net.prior(to_unit(y))  # (1, 256, C, H, W)
    for r, c, g in [(0, 0, 0), (2, 3, channels - 1), (3, 1, 0), (4, 5, channels // 2)]:
        y2 = y.clone()
        y2[0, g, r, c] = 255 - y2[0, g, r, c]
        changed = (net.prior(to_unit(y2)) - base).abs().amax(dim=1)[0].permute(1, 2, 0).flatten()  # raster order
        i = (r * size + c) * channels + g
        assert changed[:i + 1].max() == 0
        if i < len(changed) - channels * size:  # a row below exists: the vertical stack must carry it there
            assert changed[i + 1:].max() > 0
    # the pixel straight above-right of the current one is seen (no blind spot): (1, 3) affects (2, 2)
    y2 = y.clone()
    y2[0, 0, 1, 3] = 255 - y2[0, 0, 1, 3]
    assert (net.prior(to_unit(y2)) - base)[0, :, :, 2, 2].abs().max() > 0


@pytest.mark.parametrize("channels,temperature", [(1, 1.0), (3, 1.0), (1, 0.0), (3, 0.7)])
def test_cached_sampling_draws_the_naive_loops_samples(channels, temperature, one_torch_thread):
    """Ramachandran et al.'s caches compute the same logits as the whole network, so the same draws give the same
    samples (float64, so no rounding difference can flip a draw)."""
    net = tiny(channels)
    low = torch.randint(0, 256, (2, channels, 3, 3)).double()
    draws = uniforms(2, net.cfg, seed=5)
    naive = sample_naive(net, low, temperature, draws)
    cached = sample_cached(net, low, temperature, draws)
    assert naive.shape == (2, channels, 6, 6) and naive.dtype == torch.uint8
    assert torch.equal(naive, cached)
    assert len(torch.unique(naive)) > 3  # not a constant image
    other = sample_cached(net, low, temperature, uniforms(2, net.cfg, seed=6))
    assert temperature == 0 or not torch.equal(other, cached)  # other draws, other samples


def test_cached_logits_equal_the_full_networks_on_its_own_sample(one_torch_thread):
    """Teacher-forced on the sample it drew, the full network's logits are those the cached sampler used."""
    import deepgallery.apps.superres.model as M

    net = tiny(3)
    low = torch.randint(0, 256, (1, 3, 3, 3)).double()
    seen = []
    original = M.pick

    def spy(logits, temperature, u):
        seen.append(logits.clone())
        return original(logits, temperature, u)

    M.pick = spy
    try:
        y = sample_cached(net, low, 1.0, seed=3)
    finally:
        M.pick = original
    a, b = net(low, y.double())
    full = (a + b)[0].permute(2, 3, 1, 0).reshape(-1, 256)  # (H·W·C, 256) in sampling order
    torch.testing.assert_close(torch.stack(seen)[:, 0], full, rtol=0, atol=1e-9)


def test_sampling_follows_the_tempered_softmax():
    """Inverse-CDF draws of softmax(logits / T): frequencies match the probabilities; T -> 0 is the argmax and a
    low temperature concentrates the draws."""
    logits = torch.randn(1, 256, dtype=torch.float64) * 2
    u = torch.rand(40000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for t in (1.0, 0.5):
        drawn = pick(logits.expand(len(u), 256), t, u)
        freq = torch.bincount(drawn, minlength=256).double() / len(u)
        assert (freq - torch.softmax(logits[0] / t, 0)).abs().max() < 0.01
    assert torch.equal(pick(logits, 0.0, u[:1]), logits.argmax(1))
    spread = [torch.unique(pick(logits.expand(4000, 256), t, u[:4000])).numel() for t in (1.0, 0.3)]
    assert spread[1] < spread[0]


def test_loss_is_the_sum_and_the_conditioning_cross_entropies():
    net = tiny(1).float()
    low = torch.randint(0, 256, (2, 1, 3, 3))
    high = torch.randint(0, 256, (2, 1, 6, 6))
    loss, nll = net.losses(low, high)
    a, b = net(low, high)
    assert a.shape == b.shape == (2, 256, 1, 6, 6)
    ce = F.cross_entropy(a + b, high.long())
    torch.testing.assert_close(nll, ce)
    torch.testing.assert_close(loss, ce + F.cross_entropy(a, high.long()))
    # the conditioning logits depend on the low-resolution input only
    torch.testing.assert_close(net.conditioning_logits(low), net(low, torch.zeros_like(high))[0])


def test_config_checks():
    with pytest.raises(UserError, match="power of two"):
        ModelConfig(factor=3).check()
    with pytest.raises(UserError, match="odd"):
        ModelConfig(kernel=4).check()
    with pytest.raises(UserError, match="multiple"):
        ModelConfig(channels=3, prior_width=32).check()


# ------------------------------------------------------------------------------------------------------ data


def test_shrink_is_the_block_mean_and_pairs_are_channels_first():
    img = np.arange(64, dtype=np.uint8).reshape(1, 8, 8)
    small = shrink(img, 4)
    assert small.shape == (1, 2, 2) and small[0, 0, 0] == round(np.mean(img[0, :4, :4]))
    rgb = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    p = pairs(rgb, 4)
    assert p.low.shape == (3, 3, 8, 8) and p.high.shape == (3, 3, 32, 32) and (p.labels == -1).all()
    with pytest.raises(UserError, match="multiples"):
        shrink(np.zeros((1, 10, 10), np.uint8), 4)


def make_celeba(root, n=12):
    """A CelebA-layout folder: img_align_celeba/NNNNNN.jpg (178×218 faces: a disc on a background) and
    list_eval_partition.txt with the three splits."""
    rng = np.random.default_rng(0)
    (root / "img_align_celeba").mkdir(parents=True)
    lines = []
    yy, xx = np.mgrid[:218, :178]
    for i in range(1, n + 1):
        img = np.empty((218, 178, 3), np.uint8)
        img[:] = rng.integers(0, 256, 3)
        face = (yy - 109) ** 2 / 70 ** 2 + (xx - 89) ** 2 / 55 ** 2 <= 1
        img[face] = rng.integers(100, 256, 3)
        Image.fromarray(img).save(root / "img_align_celeba" / f"{i:06d}.jpg", quality=95)
        lines.append(f"{i:06d}.jpg {0 if i <= n - 4 else 1 if i <= n - 2 else 2}")
    (root / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def celeba_dir(tmp_path_factory):
    return make_celeba(tmp_path_factory.mktemp("celeba"))


def test_celeba_loader_reads_its_layout_and_splits(celeba_dir, tmp_path):
    train_set, test_set = read_celeba(celeba_dir, "train"), read_celeba(celeba_dir, "test")
    assert len(train_set) == 8 and len(test_set) == 2
    assert train_set.high.shape == (8, 3, 32, 32) and train_set.low.shape == (8, 3, 8, 8)
    assert train_set.high.dtype == torch.uint8
    face, corner = train_set.high[0, :, 16, 16], train_set.high[0, :, 0, 0]
    assert (face.int() - corner.int()).abs().sum() > 0  # the central square holds the face, not only background
    broken = make_celeba(tmp_path / "broken", n=6)
    (broken / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg seven\n")
    with pytest.raises(UserError, match="list_eval_partition.txt:2"):
        read_celeba(broken)
    with pytest.raises(UserError, match="not a CelebA folder"):
        read_celeba(tmp_path)


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="the Debian package dataset-fashion-mnist is not installed")
def test_fashion_pairs_are_7_to_28():
    from deepgallery.apps.superres.data import fashion_pairs

    p = fashion_pairs("t10k", limit=20)
    assert p.low.shape == (20, 1, 7, 7) and p.high.shape == (20, 1, 28, 28) and len(p.classes) == 10
    torch.testing.assert_close(p.low[:, 0].float(), torch.from_numpy(shrink(p.high[:, 0].numpy(), 4)).float())


# -------------------------------------------------------------------------------------------------- training


def small_config(**kw) -> TrainConfig:
    base = dict(batch=8, epochs=2, lr=3e-3, val=0, cond_width=8, cond_blocks=1, prior_width=8, prior_layers=2,
                kernel=3, head_width=16)
    return TrainConfig(**{**base, **kw})


def test_training_lowers_the_loss_and_resumes(tmp_path, one_torch_thread):
    images, labels = shapes(64)
    data = pairs(images, 4, labels, ["square", "disc"], "shapes")
    cfg = small_config(epochs=3)
    first = train(tmp_path / "run", cfg, pairs=data, log=lambda *_: None)
    assert first.step == 3 * 8
    assert np.mean(first.losses[-4:]) < np.mean(first.losses[:4]) - 0.5  # bits per subpixel fall
    more = train(tmp_path / "run", small_config(epochs=4), pairs=data, log=lambda *_: None)
    assert more.step == 4 * 8 and len(more.losses) == 8  # resumed: only the fourth epoch ran
    torch.manual_seed(0)
    untrained = RegressionSR(first.model.cfg)
    with torch.no_grad():
        mse = [F.mse_loss(net(data.low), to_unit(data.high)).item() for net in (untrained, more.regression)]
    assert mse[1] < 0.5 * mse[0]  # the L2 baseline learned too


@pytest.fixture(scope="module")
def trained_celeba(celeba_dir, tmp_path_factory):
    """A tiny RGB model trained on the CelebA fixture through the library, exported like the CLI does."""
    out = tmp_path_factory.mktemp("trained")
    cfg = small_config(epochs=1, prior_width=6, head_width=12)
    torch.set_num_threads(1)
    result = train(out / "run", cfg, ["celeba", str(celeba_dir)], log=lambda *_: None)
    export(result, out / "tiny", cfg, "test")
    return out / "tiny"


def test_exported_checkpoint_loads_with_its_baseline(trained_celeba):
    from deepgallery.apps.superres.model import load

    shipped = load(trained_celeba)
    assert shipped.cfg.channels == 3 and shipped.cfg.low_size == 8 and shipped.cfg.high_size == 32
    assert shipped.regression is not None and shipped.meta["command"] == "test"
    _, config, _ = checkpoint.load(trained_celeba)
    assert config["model"]["prior_layers"] == 2


def test_run_writes_the_grid_for_an_image_and_a_folder(trained_celeba, tmp_path, run_cli, one_torch_thread):
    rng = np.random.default_rng(1)
    big = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)).save(big)
    code, out, err = run_cli("run", "superres", big, "--checkpoint", trained_celeba, "--samples", 2, "-o",
                             tmp_path / "grid.png")
    assert code == 0, err
    assert "cut to its central" in out and "shrunk from 40×40 to the model's 8×8" in out
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    # given, nearest, regression and 2 samples, each 32 px shown 4× wide
    assert grid.shape[1] == 5 * (32 * 4 + 4) + 4
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / "a.png")
    (folder / "broken.png").write_text("not an image")
    code, out, err = run_cli("run", "superres", folder, "--checkpoint", trained_celeba, "--samples", 1, "-o",
                             tmp_path / "grids")
    assert code == 0, err
    assert "magnified 1 images, skipped 1" in out and "broken.png" in err
    assert [p.name for p in (tmp_path / "grids").iterdir()] == ["superres-a.png"]


def test_train_cli_on_celeba_exports_a_checkpoint(celeba_dir, tmp_path, run_cli, one_torch_thread):
    code, _, err = run_cli("train", "superres", "--data", "celeba", celeba_dir, "--out", tmp_path / "run",
                           "--epochs", 1, "--batch", 4, "--val", 0, "--prior-layers", 1, "--prior-width", 6,
                           "--head-width", 6, "--cond-width", 4, "--cond-blocks", 0, "--no-baseline", "--export",
                           tmp_path / "mine")
    assert code == 0, err
    _, config, meta = checkpoint.load(tmp_path / "mine")
    assert config["model"]["channels"] == 3 and meta["steps"] == 2
    assert "--data celeba" in meta["command"] or meta["command"].startswith("deepgallery train superres")


@pytest.mark.skipif(not checkpoint.exists(APP.folder / "checkpoints" / "fashion"), reason="no shipped checkpoint yet")
@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="the Debian package dataset-fashion-mnist is not installed")
def test_shipped_model_beats_a_uniform_guess_and_the_classifier_reads_fashion(one_torch_thread):
    from deepgallery.apps.superres.classifier import load_classifier
    from deepgallery.apps.superres.data import fashion_pairs
    from deepgallery.apps.superres.model import load_shipped

    shipped = load_shipped("fashion")
    test = fashion_pairs("t10k", limit=40)
    with torch.no_grad():
        bits = shipped.model.losses(test.low, test.high)[1].item() / math.log(2)
    assert bits < 3.3  # 8 bits is a uniform guess; the shipped model measured 2.9 on the test images
    judge = load_classifier(APP.checkpoint("classifier"))
    assert (judge.predict(test.high) == test.labels).float().mean() > 0.8


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("argv,needle", [
    (["{bad}", "-o", "{out}.png"], "not a readable image"),
    (["{empty}", "-o", "{out}.png"], "empty.png"),
    (["{ok}", "-o", "{out}.txt"], "ending in .png"),
    (["{ok}", "--samples", "0", "-o", "{out}.png"], "--samples must be >= 1"),
    (["{ok}", "--temperature", "-1", "-o", "{out}.png"], "--temperature must be >= 0"),
    (["{ok}", "-o", "{blocked}/grid.png"], "is a file, not a folder"),
    ([], "give an image or a folder"),
    (["/no/such/file.png"], "no such file"),
])
def test_bad_input_exits_2_with_one_line(argv, needle, bad_input):
    bad_input("superres", argv, needle)


def test_tiny_image_and_empty_folder_exit_2(bad_input, tmp_path):
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(bad_input.dir / "dot.png")
    (bad_input.dir / "nothing").mkdir()
    bad_input("superres", [bad_input.dir / "dot.png"], "too small to magnify (at least 4×4")
    bad_input("superres", [bad_input.dir / "nothing"], "no files to magnify")


def test_bad_training_data_exits_2(tmp_path, bad_input):
    bad_input("superres", ["--data", "celeba", "{blocked}", "--out", "{out}"], "not a CelebA folder", verb="train")
    bad_input("superres", ["--data", "mnist", "--out", "{out}"], "--data takes", verb="train")


# ------------------------------------------------------------------------------------------------ torchrun


def test_two_gloo_processes_train_the_same_network_as_one(tmp_path, run_cli, torchrun_cli, one_torch_thread):
    """GroupNorm (no batch statistics) and equal shares of each batch: two processes take one process's steps.
    The images are textured (`--data pairs FILE.npz`): on nearly flat images both networks' gradients vanish and
    Adam turns their rounding noise into steps."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "pairs.npz", high=rng.integers(0, 256, (8, 16, 16), dtype=np.uint8))
    common = ("train", "superres", "--data", "pairs", tmp_path / "pairs.npz", "--epochs", 2, "--batch", 4, "--val",
              0, "--prior-layers", 2, "--prior-width", 6, "--head-width", 6, "--cond-width", 16, "--cond-blocks", 1)
    code, _, err = run_cli(*common, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, _, meta_one = checkpoint.load(tmp_path / "one" / "state")
    two, _, meta_two = checkpoint.load(tmp_path / "two" / "state")
    assert meta_one["step"] == meta_two["step"] == 4
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)
