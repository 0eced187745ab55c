"""pix2pix: the paper's networks (U-Net-256 sizes and skips, the 70x70 PatchGAN's receptive field, dropout as the
noise z), its losses, both paired-data layouts and their malformed cases, the jitter that moves A and B together,
the edge detector and the sketch thinning, the unbiased KID estimator against a hand-computed value, training
that learns and resumes, the run command on an image, a folder and a video, bad inputs, and DDP equivalence.
Fixtures are made here: shapes drawn with PIL, written in the authors' A|B layout and as aligned A/ B/ folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from deepgallery.apps.pix2pix import APP
from deepgallery.apps.pix2pix.model import (
    Generator,
    NetConfig,
    PatchDiscriminator,
    d_loss,
    g_loss,
    parameter_count,
    receptive_field,
)
from deepgallery.apps.pix2pix.pairs import (
    Pair,
    as_edge_map,
    edges,
    find_pairs,
    grayscale,
    jitter,
    read_pair,
    segments,
)
from deepgallery.apps.pix2pix.realism import kid, mmd2_unbiased
from deepgallery.core.errors import UserError

TINY = NetConfig(width=4, max_mult=2)


def shape_photo(seed: int, side: int = 256) -> np.ndarray:
    """A 'photo': a coloured disc and a coloured box on a tinted background."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (side, side), tuple(int(v) for v in rng.integers(150, 230, 3)))
    d = ImageDraw.Draw(im)
    x, y = (int(v) for v in rng.integers(20, side // 2, 2))
    d.ellipse([x, y, x + side // 3, y + side // 3], fill=tuple(int(v) for v in rng.integers(0, 120, 3)))
    x, y = (int(v) for v in rng.integers(side // 3, side - side // 3, 2))
    d.rectangle([x, y, x + side // 4, y + side // 5], fill=tuple(int(v) for v in rng.integers(0, 120, 3)))
    return np.asarray(im)


def write_ab(root, count: int, side: int = 256, split: str = "train"):
    """The authors' layout: ROOT/SPLIT/i.jpg, edges (A) left of the photo (B)."""
    (root / split).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        photo = shape_photo(i, side)
        Image.fromarray(np.concatenate([edges(photo), photo], axis=1)).save(root / split / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def ab_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("ab") / "shapes"
    write_ab(root, 4)
    return write_ab(root, 2, split="val")


# ------------------------------------------------------------------------------------------------ the networks


def test_unet_256_and_patchgan_have_the_papers_sizes():
    """At the paper's width with batch norm, the parameter counts the authors' code prints: G 54.414 M, D 2.769 M."""
    cfg = NetConfig(norm="batch")
    assert round(parameter_count(Generator(cfg)) / 1e6, 3) == 54.414
    assert round(parameter_count(PatchDiscriminator(cfg)) / 1e6, 3) == 2.769
    g = Generator(cfg)
    assert [layer.conv.out_channels for layer in g.down] == [64, 128, 256, 512, 512, 512, 512, 512]
    assert [layer.conv.out_channels for layer in g.up] == [512, 512, 512, 512, 256, 128, 64]
    assert [layer.dropout for layer in g.up] == [0.5, 0.5, 0.5, 0, 0, 0, 0]  # CD512-CD512-CD512-C512-...


def test_unet_reaches_a_1x1_bottleneck_and_comes_back_with_skips(one_torch_thread):
    g = Generator(TINY).eval()
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    seen = []
    hooks = [layer.register_forward_hook(lambda m, i, o: seen.append(o.shape[-1])) for layer in g.down]
    y = g(x, noise=False)
    for h in hooks:
        h.remove()
    assert seen == [128, 64, 32, 16, 8, 4, 2, 1] and y.shape == x.shape and y.abs().max() <= 1
    # the skips carry the input's detail: changing one input pixel changes the output near it
    x2 = x.clone()
    x2[..., 100, 100] += 1.0
    diff = (g(x2, noise=False) - g(x, noise=False)).abs()[0].sum(0)
    assert diff[96:105, 96:105].mean() > 10 * diff[:, :50].mean()  # instance norm spreads a little everywhere


def test_patchgan_receptive_field_is_70(one_torch_thread):
    """Each output logit sees a 70x70 patch of the (x, y) pair: its gradient is zero outside one."""
    cfg = NetConfig(width=4, max_mult=8, norm="batch")  # in eval mode: fixed statistics, so nothing global
    assert receptive_field(cfg) == 70
    d = PatchDiscriminator(cfg).eval()
    x = torch.rand(1, 3, 256, 256, requires_grad=True)
    out = d(x, torch.rand(1, 3, 256, 256))
    assert out.shape == (1, 1, 30, 30)
    out[0, 0, 15, 15].backward()
    rows, cols = np.nonzero(x.grad[0].abs().sum(0).numpy())
    assert rows.max() - rows.min() + 1 <= 70 and cols.max() - cols.min() + 1 <= 70
    assert rows.max() - rows.min() + 1 >= 60  # and close to it (the border taps may have zero weight)


def test_dropout_is_the_noise_z_at_test_time(one_torch_thread):
    torch.manual_seed(0)
    g = Generator(TINY).eval()
    torch.nn.init.normal_(g.out.weight, std=0.5)  # make the output depend visibly on the decoder
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    torch.manual_seed(1)
    a = g(x)
    torch.manual_seed(1)
    b = g(x)
    torch.manual_seed(2)
    c = g(x)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)  # another z, another output
    torch.testing.assert_close(g(x, noise=False), g(x, noise=False))


def test_losses_are_eq_1_halved_and_eq_4():
    zeros = torch.zeros(1, 1, 30, 30)
    assert d_loss(zeros, zeros).item() == pytest.approx(np.log(2))  # 0.5 (log 2 + log 2)
    fake, target = torch.zeros(1, 3, 8, 8), torch.full((1, 3, 8, 8), 0.5)
    total, gan, l1 = g_loss(zeros, fake, target, 100.0)
    assert l1.item() == pytest.approx(0.5) and gan.item() == pytest.approx(np.log(2))
    assert total.item() == pytest.approx(np.log(2) + 50.0)
    assert g_loss(None, fake, target, 100.0)[0].item() == pytest.approx(50.0)  # L1 alone: the ablation


# ---------------------------------------------------------------------------------------------------- the data


def test_ab_layout_reads_halves_and_direction(ab_dir):
    pairs = find_pairs(ab_dir, "train")
    assert len(pairs) == 4 and len(find_pairs(ab_dir, "val")) == 2
    a, b = read_pair(pairs[0])
    assert a.shape == b.shape == (256, 256, 3)
    assert (a == 0).all(axis=2).mean() > 0.01 and (a == 255).all(axis=2).mean() > 0.8  # edges, black on white
    b2, a2 = read_pair(pairs[0], "BtoA")
    assert (a2 == a).all() and (b2 == b).all()


def test_aligned_folders_and_their_mistakes(tmp_path):
    for side in ("A", "B"):
        (tmp_path / side).mkdir()
    for i in range(3):
        photo = shape_photo(i, 64)
        Image.fromarray(grayscale(photo)).save(tmp_path / "A" / f"{i}.png")
        Image.fromarray(photo).save(tmp_path / "B" / f"{i}.jpg")  # the suffix may differ, the name may not
    pairs = find_pairs(tmp_path)
    assert [p.a.stem for p in pairs] == ["0", "1", "2"] and all(p.b is not None for p in pairs)
    a, b = read_pair(pairs[1])
    assert a.shape == b.shape and np.allclose(a[..., 0], a[..., 1])  # grayscale input in three equal channels
    Image.fromarray(shape_photo(9, 64)).save(tmp_path / "A" / "extra.png")
    with pytest.raises(UserError, match="1 file.* in A/ have no namesake.*extra"):
        find_pairs(tmp_path)
    (tmp_path / "A" / "extra.png").unlink()
    Image.new("RGB", (32, 32)).save(tmp_path / "B" / "1.jpg")
    with pytest.raises(UserError, match="same size"):
        read_pair(find_pairs(tmp_path)[1])


def test_malformed_pair_images_and_folders(tmp_path):
    Image.new("RGB", (301, 150)).save(tmp_path / "odd.png")
    with pytest.raises(UserError, match="odd width"):
        read_pair(Pair(tmp_path / "odd.png"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        find_pairs(tmp_path / "empty")
    (tmp_path / "half" / "A").mkdir(parents=True)
    with pytest.raises(UserError, match="no B/"):
        find_pairs(tmp_path / "half")


def test_jitter_moves_input_and_target_together():
    """Random jitter and mirroring (Appendix 6.2): the same resize, crop and flip for A and B."""
    base = np.random.default_rng(0).integers(60, 150, (256, 256, 3)).astype(np.uint8)  # bicubic overshoot unclipped
    for seed in range(6):
        a, b = jitter(base, base + 40, np.random.default_rng(seed))
        assert a.shape == b.shape == (256, 256, 3)
        assert np.abs(b.astype(int) - a.astype(int) - 40).max() <= 1  # the bicubic resize rounds
    crops = {jitter(base, base, np.random.default_rng(s))[0].tobytes() for s in range(6)}
    assert len(crops) > 1  # the crop does move


def test_edges_find_outlines_and_sketches_are_thinned():
    photo = np.full((256, 256, 3), 220, np.uint8)
    photo[80:180, 60:200] = 40  # a dark box
    e = edges(photo)[..., 0] == 0  # (H, W) line pixels
    ys, xs = np.nonzero(e)
    assert e.mean() < 0.05 and 75 <= ys.min() <= 85 and 175 <= ys.max() <= 185 and 55 <= xs.min() <= 65
    assert not e[100:160, 80:180].any()  # nothing inside the flat box
    drawing = np.full((128, 128, 3), 255, np.uint8)
    drawing[60:70, 10:120] = 0  # a 10-px pen stroke
    thin = as_edge_map(drawing)[..., 0] == 0
    assert thin[:, 30:100].sum(axis=0).max() <= 3  # redrawn about 2 px wide
    assert thin[:, 30:100].any(axis=0).all()  # and still continuous
    light_on_dark = 255 - drawing
    assert (as_edge_map(light_on_dark) == as_edge_map(drawing)).all()


def test_segments_are_flat_regions_of_mean_colour():
    photo = shape_photo(3, 128)
    seg = segments(photo, count=40)
    assert seg.shape == photo.shape and len(np.unique(seg.reshape(-1, 3), axis=0)) <= 60
    assert np.abs(seg.astype(float).mean((0, 1)) - photo.astype(float).mean((0, 1))).max() < 3


# ------------------------------------------------------------------------------------------------- realism


def test_kid_unbiased_estimator_matches_a_hand_computed_value():
    """x = e1, e2 and y = (1, 1), 0 in 2-d: k = (a.b / 2 + 1)^3. Within x and within y the pairs are orthogonal
    (k = 1, mean 1 each); across, x.y = 1, 0, 1, 0 (k = 3.375, 1, 3.375, 1: mean 2.1875). MMD2 = 2 - 4.375."""
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert mmd2_unbiased(x, y) == pytest.approx(-2.375)
    assert kid(x, y) == pytest.approx(-2.375)
    rng = np.random.default_rng(0)
    a, b, shifted = rng.normal(size=(300, 16)), rng.normal(size=(300, 16)), rng.normal(0.5, 1, size=(300, 16))
    same, apart = kid(a, b, subsets=20, subset_size=100), kid(a, shifted, subsets=20, subset_size=100)
    assert abs(same) < 0.05 and apart > 10 * abs(same) and apart > 0.1


# -------------------------------------------------------------------------------------------------- training

TRAIN_FLAGS = ("--width", 4, "--max-mult", 2, "--lr", 2e-3, "--dropout", 0, "--load-size", 256)


def test_training_lowers_l1_and_resumes(ab_dir, tmp_path, one_torch_thread):
    from deepgallery.apps.pix2pix.train import TrainConfig, train

    cfg = TrainConfig(width=4, max_mult=2, lr=2e-3, epochs=6, dropout=0.0, gan=False, load_size=256, save_every=4)
    result = train(tmp_path / "run", cfg, str(ab_dir), log=lambda *_: None)
    first, last = np.mean(result.losses["l1"][:3]), np.mean(result.losses["l1"][-3:])
    assert result.step == 24 and last < 0.6 * first
    assert result.val_l1 is not None and result.val_l1 < first
    again = train(tmp_path / "run", TrainConfig(**{**cfg.__dict__, "epochs": 7}), str(ab_dir), log=lambda *_: None)
    assert again.step == 28 and len(again.losses["l1"]) == 4  # one more epoch only


def test_gan_training_steps_both_networks(ab_dir, tmp_path, one_torch_thread):
    from deepgallery.apps.pix2pix.train import Pix2Pix, TrainConfig, train

    cfg = TrainConfig(width=4, max_mult=2, epochs=1, load_size=256)
    torch.manual_seed(0)
    before = Pix2Pix(cfg.net(), gan=True)
    from deepgallery.apps.pix2pix.model import init_weights

    init_weights(before, cfg.seed)
    result = train(tmp_path / "gan", cfg, str(ab_dir), log=lambda *_: None)
    assert len(result.losses["d"]) == 4 and all(np.isfinite(result.losses["g_gan"]))
    for name in ("G", "D"):
        old, new = getattr(before, name).state_dict(), getattr(result.model, name).state_dict()
        assert any(not torch.allclose(old[k], new[k]) for k in old), f"{name} did not move"


def test_train_export_and_run_on_a_folder_and_a_video(ab_dir, tmp_path, run_cli, one_torch_thread):
    from deepgallery.core.media import read_video, write_video

    code, out, err = run_cli("train", "pix2pix", "--data", ab_dir, "--epochs", 1, "--out", tmp_path / "run",
                             "--export", tmp_path / "mine", "--device", "cpu", *TRAIN_FLAGS)
    assert code == 0, err
    assert "model written to" in out and (tmp_path / "mine.json").is_file()
    folder = tmp_path / "inputs"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(edges(shape_photo(10 + i, 200))).save(folder / f"s{i}.png")
    (folder / "broken.png").write_text("not an image")
    code, out, err = run_cli("run", "pix2pix", "translate", folder, "--checkpoint", tmp_path / "mine",
                             "-o", tmp_path / "outs", "--size", 0)
    assert code == 0, err
    assert "translated 2 images, skipped 1" in out and "broken.png" in err
    assert Image.open(tmp_path / "outs" / "s0.png").size == (200, 200)  # its own size, padded and cropped back
    video = write_video(tmp_path / "clip.mp4", [edges(shape_photo(i, 128)) for i in range(3)], fps=5)
    code, out, err = run_cli("run", "pix2pix", "translate", video, "--checkpoint", tmp_path / "mine",
                             "-o", tmp_path / "clip-out.mp4", "--side-by-side")
    assert code == 0, err
    frames = [f for _, _, f in read_video(tmp_path / "clip-out.mp4")]
    assert len(frames) == 3 and frames[0].shape[1] == 2 * frames[0].shape[0]
    code, _, err = run_cli("run", "pix2pix", "translate", video, "--photo", "--checkpoint", tmp_path / "mine")
    assert code == 2 and "trained on your own pairs" in err  # it cannot know how to make its input from a photo


def test_pairs_command_makes_a_trainable_dataset(tmp_path, run_cli):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(5):
        Image.fromarray(shape_photo(i, 120)).save(photos / f"p{i}.jpg")
    (photos / "notes.jpg").write_text("not a photo")
    code, out, err = run_cli("run", "pix2pix", "pairs", photos, "--task", "gray", "--out", tmp_path / "ds",
                             "--crops", 2, "--side", 64, "--val-fraction", 0.2)
    assert code == 0, err
    assert "8 training and 2 val pairs" in out and "skipped 1" in out
    a, b = read_pair(find_pairs(tmp_path / "ds", "train")[0])
    assert a.shape == b.shape == (64, 64, 3) and np.allclose(a[..., 0], a[..., 2])
    val_photos = {p.name.rsplit("_", 1)[0] for p in find_pairs(tmp_path / "ds", "val")}
    train_photos = {p.name.rsplit("_", 1)[0] for p in find_pairs(tmp_path / "ds", "train")}
    assert val_photos and not val_photos & train_photos  # split by photo


# --------------------------------------------------------------------------------------- the shipped models


def test_shipped_generators_draw_photos_from_the_examples(one_torch_thread):
    from deepgallery.apps.pix2pix.entry import WEB_EXAMPLES, predict
    from deepgallery.apps.pix2pix.model import load_shipped

    assert len(WEB_EXAMPLES) >= 3
    for name in APP.checkpoints:
        model = load_shipped(name)
        assert model.task == "edges" and model.cfg.width == 12 and "photos" in model.meta
        assert model.meta["command"] and model.meta["steps"] > 0
    result = predict(WEB_EXAMPLES[0]["sketch"], seed=3)
    assert set(result) == {o.name for o in APP.outputs}
    photo = np.asarray(Image.open(result["photo"]))
    assert photo.shape == (256, 256, 3) and photo.std() > 10  # not a blank page
    assert np.abs(photo.astype(float) - np.asarray(Image.open(result["photo_l1"])).astype(float)).mean() > 1


def test_sketch_pad_widget_hands_predict_the_drawing(tmp_path):
    pytest.importorskip("gradio")
    import deepgallery.apps.pix2pix.entry as hooks
    from deepgallery.web.widgets import example_rows, input_component

    pad = input_component(APP.inputs[0], "in-pix2pix-sketch")
    assert type(pad).__name__ == "Sketchpad"
    rows = example_rows(APP.inputs, hooks)
    assert rows and rows[0][0].endswith(".png")


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("argv, needle", [
    (("translate", "{bad}", "-o", "{out}.png"), "not a readable image"),
    (("translate", "{empty}", "-o", "{out}.png"), "file is empty"),
    (("translate", "{ok}", "-o", "{out}.txt"), "ending in .png"),
    (("translate", "{ok}", "-o", "{blocked}/x.png"), "is a file, not a folder"),
    (("translate", "{ok}", "--checkpoint", "{out}"), "not found"),
    (("translate", "{ok}", "--size", "-3"), "--size"),
    (("translate", "nowhere.png"), "no such file"),
    (("pairs", "{ok}", "--out", "{out}"), "no such folder"),
])
def test_bad_input_is_one_line(bad_input, argv, needle):
    bad_input("pix2pix", argv, needle)


def test_tiny_images_and_empty_videos_are_one_line(bad_input):
    Image.new("RGB", (1, 1)).save(bad_input.dir / "dot.png")
    (bad_input.dir / "clip.mp4").write_text("no frames in here")
    bad_input("pix2pix", ["translate", bad_input.dir / "dot.png", "-o", "{out}.png"], "at least 8 px")
    bad_input("pix2pix", ["translate", bad_input.dir / "clip.mp4", "-o", "{out}.mp4"], "not a readable video")


def test_malformed_training_folders_are_one_line(bad_input, tmp_path):
    root = tmp_path / "pairs"
    (root / "train").mkdir(parents=True)
    Image.new("RGB", (301, 150)).save(root / "train" / "odd.png")
    bad_input("pix2pix", ["--data", root, "--out", "{out}", "--width", 4], "odd width", verb="train")
    bad_input("pix2pix", ["--data", "{blocked}", "--out", "{out}"], "no such folder", verb="train")
    bad_input("pix2pix", ["--crop", 200, "--out", "{out}"], "multiple of 256", verb="train")


@pytest.mark.slow
def test_two_gloo_processes_train_the_same_networks_as_one(ab_dir, tmp_path, run_cli, torchrun_cli,
                                                           one_torch_thread):
    """Crops and flips come from (seed, epoch, index) and instance norm has no batch statistics, so with the noise
    off two processes with one pair each take the step one process takes with both (G and D alike)."""
    from deepgallery.core import checkpoint

    # the paper's lr: Adam's first steps are near lr x sign(gradient), which magnifies the all-reduce's rounding
    common = ("train", "pix2pix", "--data", ab_dir, "--epochs", 1, "--batch", 2, *TRAIN_FLAGS, "--lr", 2e-4)
    code, _, err = run_cli(*common, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, _, meta_one = checkpoint.load(tmp_path / "one" / "state")
    two, _, meta_two = checkpoint.load(tmp_path / "two" / "state")
    assert meta_one["step"] == meta_two["step"] == 2
    assert any(k.startswith("D.") for k in one)
    # a bias just before an instance norm changes nothing (the norm subtracts it): its gradient is rounding noise,
    # which Adam scales up to about ±lr per step, differently in each run; every weight that matters must agree
    from deepgallery.apps.pix2pix.train import Pix2Pix

    net = Pix2Pix(NetConfig(width=4, max_mult=2, dropout=0.0), gan=True)
    modules = dict(net.named_modules())
    inert = {f"{name}.bias" for name, m in modules.items() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
             and isinstance(_next_module(modules, name), torch.nn.InstanceNorm2d)}
    assert len(inert) > 10 and "G.out.bias" not in inert
    for key in one:
        if key not in inert:
            torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)


def _next_module(modules: dict, name: str):
    """The module that follows `name` in its parent (Down/Up: conv then norm; D: the Sequential's next item)."""
    parent, _, last = name.rpartition(".")
    if last == "conv":
        return getattr(modules[parent], "norm", None)
    if last.isdigit():
        return modules.get(f"{parent}.{int(last) + 1}")
    return None
