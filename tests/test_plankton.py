"""plankton: the cyclic layers' rotation structure, the folder loader and its stratified split, training that
learns and resumes, the run command's outputs and its bad inputs, the Kaggle submission, and DDP equivalence.
The data are a fixture made here (three shapes drawn at random angles and sizes, in the NDSB folder layout);
nothing needs the Debian Fashion-MNIST package but the one test that says so."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from deepgallery.apps.plankton import APP
from deepgallery.apps.plankton.data import (
    FASHION_DIR,
    affine,
    class_weights,
    read_class_folders,
    read_idx,
    stratified_split,
    tta_params,
    write_submission,
)
from deepgallery.apps.plankton.model import (
    CyclicNet,
    NetConfig,
    PlainCNN,
    cyclic_pool,
    cyclic_roll,
    cyclic_slice,
    parameter_count,
    plain_config_matching,
)
from deepgallery.apps.plankton.predict import logloss
from deepgallery.apps.plankton.train import TrainConfig, train

SHAPES = ("bar", "cross", "ring")


def draw(shape: str, rng: np.random.Generator) -> Image.Image:
    """A dark shape on white, at a random angle, cropped like an NDSB image (so sizes differ)."""
    side = int(rng.integers(30, 48))
    im = Image.new("L", (64, 64), 255)
    d = ImageDraw.Draw(im)
    c, r = 32, side // 2
    if shape == "bar":
        d.rectangle([c - r, c - 4, c + r, c + 4], fill=30)
    elif shape == "cross":
        d.rectangle([c - r, c - 3, c + r, c + 3], fill=30)
        d.rectangle([c - 3, c - r, c + 3, c + r], fill=30)
    else:
        d.ellipse([c - r, c - r, c + r, c + r], outline=30, width=5)
    im = im.rotate(float(rng.uniform(0, 360)), fillcolor=255)
    arr = np.asarray(im)
    ys, xs = np.nonzero(arr < 128)
    return Image.fromarray(arr[ys.min() - 2:ys.max() + 3, xs.min() - 2:xs.max() + 3])


def make_dataset(root, per_class=(12, 9, 5), seed=0):
    rng = np.random.default_rng(seed)
    for shape, n in zip(SHAPES, per_class, strict=True):
        (root / shape).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            draw(shape, rng).save(root / shape / f"{shape}_{i}.png")
    return root


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("ndsb") / "train")


# ------------------------------------------------------------------------------------ the rotation structure


def test_roll_layer_is_rotation_equivariant(one_torch_thread):
    """Rotating the input by 90° permutes the four rotation copies of the rolled features cyclically."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 3, 3, padding=1)
    x = torch.randn(2, 1, 12, 12)

    def rolled(inp):
        return cyclic_roll(conv(cyclic_slice(inp))).view(4, 2, 12, 12, 12)  # (4, B, 4C, H, W)

    a, b = rolled(x), rolled(torch.rot90(x, 1, dims=(2, 3)))
    for r in range(4):
        torch.testing.assert_close(b[r], a[(r + 1) % 4], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(a[0], a[1])  # the copies do differ: the permutation is not trivially true


def test_cyclic_network_is_invariant_to_quarter_turns_and_the_plain_one_is_not(one_torch_thread):
    torch.manual_seed(0)
    cfg = NetConfig(size=16, widths=[4, 8], dense=16, classes=5)
    cyc, plain = CyclicNet(cfg).eval(), PlainCNN(plain_config_matching(cfg)).eval()
    for net in (cyc, plain):  # untrained nets give near-uniform output; make the logits differ
        torch.nn.init.normal_(net.out.weight, std=1.0)
    x, size = torch.rand(3, 1, 16, 16), torch.randn(3, 2)
    with torch.no_grad():
        base = cyc(x, size)
        for k in (1, 2, 3):
            torch.testing.assert_close(cyc(torch.rot90(x, k, dims=(2, 3)), size), base, rtol=1e-4, atol=1e-5)
        assert not torch.allclose(plain(torch.rot90(x, 1, dims=(2, 3)), size), plain(x, size), atol=1e-4)


def test_cyclic_pool_and_equal_parameter_counts():
    x = torch.tensor([[3.0], [0.0], [4.0], [0.0]])  # four copies of one example
    assert cyclic_pool(x, "mean").item() == pytest.approx(1.75)
    assert cyclic_pool(x, "rms").item() == pytest.approx(math.sqrt(25 / 4), rel=1e-5)
    cfg = NetConfig()
    n_cyc, n_plain = parameter_count(CyclicNet(cfg)), parameter_count(PlainCNN(plain_config_matching(cfg)))
    assert abs(n_plain - n_cyc) / n_cyc < 0.05


def test_affine_augmentation_quarter_turn_and_tta():
    x = torch.rand(2, 1, 10, 10)
    identity = torch.zeros(2, 7)
    torch.testing.assert_close(affine(x, identity), x)
    turn = identity.clone()
    turn[:, 0] = 90
    rotated = affine(x, turn)
    assert min((rotated - torch.rot90(x, k, dims=(2, 3))).abs().max().item() for k in (1, 3)) < 1e-5
    params = tta_params(8)
    assert params.shape == (8, 7) and set(params[:, 6].tolist()) == {0.0, 1.0}
    assert (params[:, 0] < 90).all()  # quarter turns are the network's own business


# --------------------------------------------------------------------------------------------------- the data


def test_loader_and_stratified_split_keep_every_class(fixture_dir):
    images = read_class_folders(fixture_dir, 32)
    assert images.classes == list(SHAPES) and len(images) == 26 and images.x.shape == (26, 32, 32)
    assert images.x.float().mean() < 100  # inverted: the dark shapes are bright now, the white background dark
    assert torch.unique(images.size[:, 0]).numel() > 1  # the original sizes are kept
    train_idx, held = stratified_split(images.y, 0.2, seed=0)
    assert set(images.y[train_idx].tolist()) == set(images.y[held].tolist()) == {0, 1, 2}
    assert len(set(train_idx.tolist()) & set(held.tolist())) == 0 and len(train_idx) + len(held) == 26
    w = class_weights(images.y, 3)
    assert w[2] > w[1] > w[0]  # the rarest class weighs most
    assert w[images.y].mean().item() == pytest.approx(1.0)


def test_bad_files_in_a_class_folder_are_skipped_and_counted(tmp_path):
    root = make_dataset(tmp_path / "train", per_class=(3, 3, 3))
    (root / "bar" / "notes.png").write_text("not an image")
    images = read_class_folders(root, 32)
    assert len(images) == 9 and len(images.skipped) == 1 and images.skipped[0].endswith("notes.png")


def test_idx_reader(tmp_path):
    import gzip
    import struct

    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 3, 4) + data.tobytes()
    (tmp_path / "a-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte.gz"), data)


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="the Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_idx_files_read():
    from deepgallery.apps.plankton.data import fashion_mnist

    images, labels = fashion_mnist("t10k")
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,) and set(labels.tolist()) == set(range(10))


def test_submission_csv_shape_and_header(tmp_path):
    probs = np.array([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])
    path = write_submission(tmp_path / "sub.csv", ["1.jpg", "2.jpg"], probs, list(SHAPES))
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["image", *SHAPES] and len(rows) == 3 and all(len(r) == 4 for r in rows)
    assert sum(float(v) for v in rows[1][1:]) == pytest.approx(1.0)


def test_logloss_is_kaggles():
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert logloss(p, np.array([0, 1])) == pytest.approx((-math.log(1 - 1e-15) + math.log(2)) / 2, rel=1e-6)
    assert logloss(np.array([[0.0, 1.0]]), np.array([0])) == pytest.approx(-math.log(1e-15), rel=1e-3)  # clipped


# ------------------------------------------------------------------------------------------------- training

TINY = dict(epochs=12, batch=8, lr=3e-3, size=16, width=4, dense=16, val_fraction=0.0, dropout=0.0, augment=False)


def test_training_lowers_the_loss_and_resumes(fixture_dir, tmp_path, one_torch_thread):
    cfg = TrainConfig(**TINY)
    result = train(tmp_path / "run", cfg, str(fixture_dir), log=lambda *_: None)
    first, last = np.mean(result.losses[:3]), np.mean(result.losses[-3:])
    assert last < 0.75 * first
    per_epoch = result.step // TINY["epochs"]
    again = train(tmp_path / "run", TrainConfig(**{**TINY, "epochs": TINY["epochs"] + 1}), str(fixture_dir),
                  log=lambda *_: None)
    assert again.step == result.step + per_epoch and len(again.losses) == per_epoch  # one more epoch only


def test_train_cli_exports_a_checkpoint_run_can_average(fixture_dir, tmp_path, run_cli, one_torch_thread):
    flags = ["--epochs", 2, "--batch", 8, "--size", 16, "--width", 4, "--dense", 16, "--val-fraction", 0.2]
    for kind in ("cyclic", "plain"):
        code, out, err = run_cli("train", "plankton", "--data", fixture_dir, "--kind", kind, "--device", "cpu",
                                 "--out", tmp_path / kind, "--export", tmp_path / f"{kind}-model", *flags)
        assert code == 0, err
    code, out, err = run_cli("run", "plankton", fixture_dir / "ring" / "ring_0.png", "--checkpoint",
                             tmp_path / "cyclic-model", "--checkpoint", tmp_path / "plain-model", "-k", 2)
    assert code == 0, err
    assert out.startswith("ring_0.png:") and out.count("0.") >= 2


# ------------------------------------------------------------------------------------------------------ run


def test_run_on_an_image_and_a_folder_with_a_bad_file(tmp_path, run_cli, one_torch_thread):
    examples = sorted((APP.folder / "examples").glob("*.png"))
    assert len(examples) == 4 and all(p.stat().st_size <= 5000 for p in examples)
    code, out, err = run_cli("run", "plankton", examples[0], "--tta")
    assert code == 0, err
    assert out.startswith(examples[0].name) and len(out.split(",")) == 3
    folder = tmp_path / "test"
    folder.mkdir()
    for p in examples:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    code, out, err = run_cli("run", "plankton", folder, "-o", tmp_path / "top.csv", "--submission",
                             tmp_path / "sub.csv")
    assert code == 0, err
    assert "skipped 1 unreadable" in out and "broken.jpg" in err
    top = list(csv.reader((tmp_path / "top.csv").open()))
    assert top[0] == ["image", "class1", "p1", "class2", "p2", "class3", "p3"] and len(top) == 5
    sub = list(csv.reader((tmp_path / "sub.csv").open()))
    assert len(sub) == 5 and len(sub[0]) == 11 and sub[0][0] == "image"
    assert all(sum(float(v) for v in row[1:]) == pytest.approx(1.0, abs=1e-4) for row in sub[1:])


def test_shipped_network_reads_its_examples(one_torch_thread):
    """The built-in examples are rotated Fashion-MNIST test images: the shipped network names them."""
    from deepgallery.apps.plankton.entry import predict

    right = 0
    for path in sorted((APP.folder / "examples").glob("*.png")):
        result = predict(path, top=1, tta=False)
        truth = path.name.split("-t10k")[0]
        right += result["result"].lower().replace(" ", "-").startswith(truth)
        assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert right >= 3


@pytest.mark.parametrize("argv, needle", [
    ((), "give an image or a folder"),
    (("nowhere.png",), "no such file"),
    (("-k", "0", "x.png"), "--top"),
])
def test_bad_input_exits_2_with_one_line(argv, needle, run_cli):
    code, _, err = run_cli("run", "plankton", *argv)
    assert code == 2 and needle in err and len(err.splitlines()) == 1


def test_bad_single_image_and_empty_folder_exit_2(tmp_path, run_cli):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    code, _, err = run_cli("run", "plankton", bad)
    assert code == 2 and "not a readable image" in err and len(err.splitlines()) == 1
    code, _, err = run_cli("run", "plankton", tmp_path, "-o", tmp_path / "out.csv")
    assert code == 2 and "none of its 1 files" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out.csv").exists()
    code, _, err = run_cli("run", "plankton", tmp_path, "-o", tmp_path / "out.txt")
    assert code == 2 and ".csv" in err


def test_bad_training_data_exits_2(tmp_path, run_cli):
    (tmp_path / "only").mkdir()
    code, _, err = run_cli("train", "plankton", "--data", tmp_path, "--out", tmp_path / "run")
    assert code == 2 and "two class subfolders" in err and len(err.splitlines()) == 1
    code, _, err = run_cli("train", "plankton", "--data", tmp_path, "--epochs", "0")
    assert code == 2 and "--epochs" in err


@pytest.mark.slow
def test_two_gloo_processes_train_the_same_network_as_one(fixture_dir, tmp_path, run_cli, torchrun_cli,
                                                          one_torch_thread):
    """Each example's augmentation comes from (seed, epoch, index) and GroupNorm has no batch statistics, so two
    processes with half the batch each take the step one process takes with all of it."""
    from deepgallery.core import checkpoint

    common = ("train", "plankton", "--data", fixture_dir, "--epochs", 1, "--batch", 8, "--size", 16, "--width", 4,
              "--dense", 16, "--dropout", 0, "--val-fraction", 0)
    code, _, err = run_cli(*common, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, _, meta_one = checkpoint.load(tmp_path / "one" / "state")
    two, _, meta_two = checkpoint.load(tmp_path / "two" / "state")
    assert meta_one["step"] == meta_two["step"] == 3
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)
