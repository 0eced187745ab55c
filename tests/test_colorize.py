"""colorize: CIE L*a*b*, the paper's network (shapes, the 224×224 global path, the fusion), training that learns
colour from lightness and resumes, user hints (simulated as in Zhang et al. 2017 and respected by the shipped
model), the Reinhard peer, the bench's metrics, video flicker, the run command on a photo / folder / video, its
bad inputs, and two gloo processes training the same network as one. Fixture photos are drawn here."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from deepgallery.apps.colorize import APP
from deepgallery.apps.colorize.bench import colorfulness, psnr_ab
from deepgallery.apps.colorize.color import ab_of, compose, gray_rgb, lab_to_rgb, lightness, rgb_to_lab
from deepgallery.apps.colorize.data import CropDataset, Photos, folder_photos, make_batch
from deepgallery.apps.colorize.hints import Hint, check_inside, parse, rasterize, simulate
from deepgallery.apps.colorize.model import GLOBAL_SIDE, NetConfig, build, load_shipped
from deepgallery.apps.colorize.pipeline import colorize, flicker, predict_ab, still_mask, temporal_ab
from deepgallery.apps.colorize.reinhard import ReinhardTransfer
from deepgallery.apps.colorize.train import TrainConfig, train
from deepgallery.core.errors import UserError

RED, BLUE = (200, 40, 40), (30, 60, 200)  # L* about 45 and 32: colour is learnable from lightness


def two_colour_photo(h: int = 64, w: int = 64, seed: int = 0) -> np.ndarray:
    """Left half red, right half blue (a random split position and a little noise)."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float32)
    split = int(rng.integers(w // 4, 3 * w // 4))
    img[:, :split], img[:, split:] = RED, BLUE
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def shipped():
    return load_shipped()


# ------------------------------------------------------------------------------------------ colour space


def test_lab_of_known_colours_and_round_trip():
    white = torch.ones(1, 3, 1, 1)
    red = torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1)
    torch.testing.assert_close(rgb_to_lab(white)[0, :, 0, 0], torch.tensor([100.0, 0, 0]), atol=0.05, rtol=0)
    torch.testing.assert_close(rgb_to_lab(red)[0, :, 0, 0], torch.tensor([53.24, 80.09, 67.20]), atol=0.1, rtol=0)
    rgb = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-4, rtol=0)


def test_gray_input_keeps_lightness_and_drops_colour():
    photo = two_colour_photo()
    gray = gray_rgb(photo)
    assert np.abs(gray.astype(int) - gray[..., :1]).max() <= 1  # R = G = B
    assert np.abs(lightness(gray) - lightness(photo)).max() < 0.6
    assert np.abs(compose(lightness(photo), ab_of(photo)).astype(int) - photo).max() <= 1


# -------------------------------------------------------------------------------------------- the network


def test_network_shapes_and_global_path_at_any_size():
    torch.manual_seed(0)
    net = build(NetConfig(width=0.125, classes=7)).eval()
    seen = []
    net.global_conv.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape[-2:])))
    for h, w in ((64, 96), (136, 40)):
        with torch.no_grad():
            ab, logits = net(torch.rand(2, 4, h, w))
        assert ab.shape == (2, 2, h, w) and logits.shape == (2, 7)
        assert float(ab.min()) >= 0 and float(ab.max()) <= 1  # the sigmoid output
    assert seen == [(GLOBAL_SIDE // 8, GLOBAL_SIDE // 8)] * 2  # the global branch always sees 224×224 -> 28×28
    with pytest.raises(ValueError):
        net(torch.rand(1, 4, 60, 64))


def test_fusion_carries_the_global_vector_to_every_position():
    """Eq. 1: the fusion layer sees, at every mid-level position, that position's mid-level features followed by
    the one global feature vector of the whole picture."""
    torch.manual_seed(0)
    net = build(NetConfig(width=0.125, hints=False)).eval()
    x = torch.rand(1, 1, 64, 96)
    fused_in = []
    net.fusion.register_forward_hook(lambda m, i, o: fused_in.append(i[0]))
    with torch.no_grad():
        net(x)
        glob, _ = net.global_features(x)
    c_mid = net.fusion[0].out_channels
    tail = fused_in[0][0, c_mid:]  # (C_g, H/8, W/8)
    assert tail.shape == (glob.shape[1], 8, 12)
    torch.testing.assert_close(tail, glob[0][:, None, None].expand_as(tail))


# ------------------------------------------------------------------------------------------------- hints


def test_hint_parsing_and_bounds():
    hints = parse(["10,20,#ff0000", "3.5 , 4 , 00ff00;5,6,#0000FF"])
    assert hints == [Hint(10, 20, (255, 0, 0)), Hint(3.5, 4, (0, 255, 0)), Hint(5, 6, (0, 0, 255))]
    assert str(hints[0]) == "10,20,#ff0000" and parse(str(hints[0])) == hints[:1]
    with pytest.raises(UserError, match="x,y,#RRGGBB"):
        parse("10,20,red")
    with pytest.raises(UserError, match="outside the 64x32 image"):
        check_inside([Hint(64, 5, (0, 0, 0))], 64, 32)
    a, b = Hint(0, 0, RED).ab
    channels = rasterize([Hint(8, 4, RED)], 16, 16)
    assert channels.shape == (1, 3, 16, 16) and float(channels[0, 2].sum()) == 25  # a 5×5 patch
    assert float(channels[0, 0, 4, 8]) == pytest.approx(a / 110, abs=1e-5)


def test_simulated_hints_reveal_the_mean_truth_and_are_often_absent():
    """Zhang et al.'s training hints: the patch shows the mean ground-truth colour under it; about half the images
    get none; the same seed gives the same hints whatever the batch."""
    ab = torch.zeros(64, 2, 32, 32)
    ab[:, 0], ab[:, 1] = 40.0, -30.0  # a constant colour
    gens = [torch.Generator().manual_seed(i) for i in range(64)]
    h = simulate(ab, gens)
    mask = h[:, 2]
    hinted = mask.flatten(1).amax(1) > 0
    assert 0.3 < float(hinted.float().mean()) < 0.7
    assert torch.allclose(h[:, 0][mask > 0], torch.tensor(40 / 110)) and torch.allclose(h[:, 1][mask > 0],
                                                                                       torch.tensor(-30 / 110))
    assert float(h[:, :2][mask[:, None].expand(-1, 2, -1, -1) == 0].abs().max()) == 0
    again = simulate(ab[5:6], [torch.Generator().manual_seed(5)])
    torch.testing.assert_close(again[0], h[5])


def test_a_hint_recolours_its_region_up_to_the_edge():
    """Levin et al.'s optimisation: the hint's colour fills the region of similar lightness it was put in and
    stops at the lightness edge; the other region keeps the network's colour."""
    from deepgallery.apps.colorize.propagate import propagate

    L = np.full((60, 80), 70.0, np.float32)
    L[:, 40:] = 30.0  # two regions, an edge at x = 40
    L += np.random.default_rng(0).normal(0, 0.5, L.shape).astype(np.float32)
    ab = np.zeros((60, 80, 2), np.float32)
    hint = Hint(10, 30, (220, 40, 40))
    out = propagate(L, ab, [hint])
    target = np.array(hint.ab)
    assert np.linalg.norm(out[30, 10] - target) < 3  # at the click: the hint's colour
    assert np.linalg.norm(out[:, 25:38].mean((0, 1)) - target) < 0.35 * np.linalg.norm(target)  # its region
    assert np.abs(out[:, 44:]).max() < 0.1 * np.linalg.norm(target)  # across the edge: nearly untouched


# ---------------------------------------------------------------------------------------------- training


def _photos(n: int = 6) -> Photos:
    return Photos([two_colour_photo(64, 64, s) for s in range(n)], [-1] * n, [f"p{s}" for s in range(n)], [])


@pytest.mark.slow
def test_training_learns_colour_from_lightness(tmp_path, one_torch_thread):
    """Red is lighter than blue here, so the network can only get the colours right by reading L*: after a short
    training each side's predicted a*b* lies nearer its own true colour than the other side's."""
    cfg = TrainConfig(steps=60, batch=8, size=32, crops_per_photo=16, width=0.125, labels="none", lr=3e-3,
                      hint_none=1.0, save_every=1000)
    result = train(tmp_path / "run", cfg, photos=_photos(), log=lambda m: None)
    assert np.mean(result.losses[-10:]) < 0.5 * np.mean(result.losses[:5])
    photo = two_colour_photo(64, 64, 99)
    ab = predict_ab(result.net, lightness(photo), None, 64)
    truth = ab_of(photo)
    sides = [(slice(None), slice(0, 12)), (slice(None), slice(52, 64))]  # red left, blue right
    pred = [ab[s].reshape(-1, 2).mean(0) for s in sides]
    true = [truth[s].reshape(-1, 2).mean(0) for s in sides]
    for mine, other in ((0, 1), (1, 0)):
        assert np.linalg.norm(pred[mine] - true[mine]) < 0.5 * np.linalg.norm(pred[mine] - true[other])


def test_training_saves_on_interrupt_and_resumes_where_it_stopped(tmp_path, monkeypatch, one_torch_thread):
    """Ctrl-C (or SIGTERM) after 3 steps keeps them; the resumed run ends with the weights of an uninterrupted one."""
    from deepgallery.apps.colorize import train as train_module
    from deepgallery.core import checkpoint

    cfg = TrainConfig(steps=6, batch=4, size=32, crops_per_photo=4, width=0.125, labels="none", save_every=100)
    train(tmp_path / "once", cfg, photos=_photos(3), log=lambda m: None)
    real, calls = train_module.loss_terms, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "loss_terms", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "twice", cfg, photos=_photos(3), log=lambda m: None)
    assert checkpoint.load(tmp_path / "twice" / "state")[2]["step"] == 3
    monkeypatch.setattr(train_module, "loss_terms", real)
    train(tmp_path / "twice", cfg, photos=_photos(3), log=lambda m: None)
    once, _, m1 = checkpoint.load(tmp_path / "once" / "state")
    twice, _, m2 = checkpoint.load(tmp_path / "twice" / "state")
    assert m1["step"] == m2["step"] == 6
    for key in once:
        torch.testing.assert_close(twice[key], once[key], rtol=1e-4, atol=1e-5)


def test_crops_and_batches_are_fixed_by_seed_epoch_and_index():
    ds = CropDataset(_photos(2), 32, 4, seed=3)
    a, b = ds[5], ds[5]
    assert torch.equal(a[0], b[0]) and a[2] == b[2]
    ds.set_epoch(1)
    assert not torch.equal(ds[5][0], a[0])
    x, target = make_batch(torch.stack([a[0], b[0]]), torch.tensor([a[2], b[2]]), hints=True)
    assert x.shape == (2, 4, 32, 32) and target.shape == (2, 2, 32, 32)
    torch.testing.assert_close(x[0], x[1])


def test_folder_loader_skips_bad_and_grayscale_files_and_reads_class_folders(tmp_path):
    for cls in ("beach", "forest"):
        (tmp_path / cls).mkdir()
        Image.fromarray(two_colour_photo(48, 48)).save(tmp_path / cls / "a.png")
    Image.fromarray(gray_rgb(two_colour_photo(48, 48))).save(tmp_path / "beach" / "gray.png")
    (tmp_path / "forest" / "broken.jpg").write_text("not an image")
    notes = []
    photos = folder_photos(tmp_path, folder_labels=True, log=notes.append)
    assert len(photos) == 2 and photos.classes == ["beach", "forest"] and photos.labels == [0, 1]
    assert len(photos.skipped) == 2 and "skipped 2" in notes[0]


# ------------------------------------------------------------------------------------- the shipped model


def test_shipped_model_colours_a_photo_and_follows_a_hint(shipped):
    """The hint example of the README: one click with a red colour on the jacket of the held-out person photo
    makes the jacket red, and leaves the far corner (sky) as it was."""
    from deepgallery.apps.colorize.entry import EXAMPLES

    photo = np.asarray(Image.open(EXAMPLES / "person.jpg").convert("RGB"))
    plain = colorize(shipped, photo)
    assert plain.shape == photo.shape
    assert np.abs(lightness(plain) - lightness(photo)).mean() < 1.0  # detail kept: only colour is added
    hinted = colorize(shipped, photo, hints=[Hint(138, 110, (200, 30, 30))])
    jacket = (slice(100, 121), slice(128, 149))
    a_plain, a_hinted = ab_of(plain)[jacket][..., 0].mean(), ab_of(hinted)[jacket][..., 0].mean()
    assert a_hinted > a_plain + 15  # redder where the hint is
    corner = (slice(0, 20), slice(300, 384))
    assert np.abs(ab_of(hinted)[corner] - ab_of(plain)[corner]).mean() < 5


def test_shipped_checkpoint_records_its_training(shipped):
    meta = shipped.meta
    assert meta["command"].startswith(("deepgallery train colorize", "python tools/colorize_gpu.py"))
    assert meta["photos"] and all("sha256" in p for p in meta["photos"])
    assert APP.checkpoint("colorize").with_suffix(".safetensors").stat().st_size < 2_000_000


# ------------------------------------------------------------------------------------- peer and metrics


def test_reinhard_transfer_matches_the_reference_statistics():
    ref = two_colour_photo(32, 32)
    peer = ReinhardTransfer([ref])
    L = lightness(ref)
    gray_ab = peer.ab(L)
    np.testing.assert_allclose(gray_ab.reshape(-1, 2).mean(0), ab_of(ref).reshape(-1, 2).mean(0), atol=1e-3)
    other = ab_of(two_colour_photo(32, 32, 5)) * 0.3 + 10
    moved = peer.ab(L, other).reshape(-1, 2)
    np.testing.assert_allclose(moved.mean(0), ab_of(ref).reshape(-1, 2).mean(0), atol=1e-2)
    np.testing.assert_allclose(moved.std(0), ab_of(ref).reshape(-1, 2).std(0), rtol=1e-2)


def test_metrics():
    photo = two_colour_photo()
    ab = ab_of(photo)
    assert psnr_ab(ab, ab) > 100 and psnr_ab(ab + 22, ab) == pytest.approx(20.0, abs=0.01)  # 22 = a tenth of 220
    assert colorfulness(gray_rgb(photo)) < 1 < colorfulness(photo)


def test_flicker_counts_only_still_regions_and_blending_removes_it(shipped):
    """Film grain on a still picture makes a per-frame colorizer's a*b* jitter; carrying the previous colours
    along the flow lowers the measured flicker. A moving part is not counted as flicker."""
    rng = np.random.default_rng(0)
    L0 = lightness(two_colour_photo(64, 96))
    frames = [np.clip(L0 + rng.normal(0, 3, L0.shape), 0, 100).astype(np.float32) for _ in range(6)]
    moved = frames[1].copy()
    moved[:, :20] += 30
    still = still_mask(frames[0], moved)
    assert still[:, :15].sum() == 0 and still[:, 40:].mean() > 0.95
    jumpy = [np.full((64, 96, 2), 10.0 * (i % 2), np.float32) for i in range(4)]
    assert flicker(jumpy, [L0] * 4) == pytest.approx(np.hypot(10, 10))
    blended, alone = zip(*temporal_ab(shipped.net, frames, 128, temporal=0.7), strict=True)
    assert flicker(list(blended), frames) < flicker(list(alone), frames)


# ---------------------------------------------------------------------------------------- run command


def test_run_photo_with_hint_and_side_by_side(tmp_path, run_cli):
    src = tmp_path / "in.png"
    Image.fromarray(gray_rgb(two_colour_photo(40, 56))).save(src)
    code, out, err = run_cli("run", "colorize", src, "-o", tmp_path / "out.png", "--hint", "5,5,#ff0000",
                             "--side-by-side")
    assert code == 0, err
    result = np.asarray(Image.open(tmp_path / "out.png"))
    assert result.shape == (40, 56, 3) and "1 hint(s)" in out
    assert np.asarray(Image.open(tmp_path / "out-compare.png")).shape == (40, 2 * 56 + 8, 3)


def test_run_downscales_a_gigantic_photo_with_a_note(tmp_path, run_cli):
    src = tmp_path / "wide.png"
    Image.fromarray(gray_rgb(two_colour_photo(20, 9000))).save(src)
    code, out, err = run_cli("run", "colorize", src, "-o", tmp_path / "out.png")
    assert code == 0, err
    assert "downscaled to 8192x18 (limit 8192 px" in err
    assert Image.open(tmp_path / "out.png").size == (8192, 18)


def test_run_folder_counts_and_skips_bad_files(tmp_path, run_cli):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(gray_rgb(two_colour_photo())).save(folder / "a.png")
    Image.fromarray(gray_rgb(two_colour_photo())).save(folder / "sub" / "b.jpg")
    (folder / "c.png").write_text("not an image")
    code, out, err = run_cli("run", "colorize", folder, "-o", tmp_path / "colour")
    assert code == 0, err
    assert "colorized 2 photo(s), skipped 1" in out and "c.png" in err
    assert (tmp_path / "colour" / "a.png").is_file() and (tmp_path / "colour" / "sub" / "b.png").is_file()


def test_run_video_reports_flicker(tmp_path, run_cli):
    from deepgallery.core.media import write_video

    frames = []
    for i in range(5):
        f = gray_rgb(two_colour_photo(64, 96))
        f[20:40, 10 + 8 * i:30 + 8 * i] = 230  # a moving bright square
        frames.append(f)
    write_video(tmp_path / "bw.mp4", frames, fps=5)
    code, out, err = run_cli("run", "colorize", tmp_path / "bw.mp4", "-o", tmp_path / "colour.mp4")
    assert code == 0, err
    assert (tmp_path / "colour.mp4").stat().st_size > 0 and "colorized 5 frames" in out and "flicker" in out


def test_predict_returns_before_after_and_the_photo(tmp_path):
    from deepgallery.apps.colorize.entry import predict

    src = tmp_path / "in.png"
    Image.fromarray(gray_rgb(two_colour_photo(48, 40))).save(src)
    out = predict(image=str(src), hints="3,4,#00ff00\n10,10,#0000ff", denoise=True)
    assert np.asarray(Image.open(out["comparison"])).shape == (48, 2 * 40 + 8, 3)
    assert np.asarray(Image.open(out["image"])).shape == (48, 40, 3)


@pytest.mark.parametrize("argv, needle", [
    (["{bad}", "-o", "{out}.png"], "not a readable image"),
    (["{empty}", "-o", "{out}.png"], "file is empty"),
    (["{ok}", "-o", "{out}.png", "--hint", "64,3,#ff0000"], "outside the 64x64 image"),
    (["{ok}", "-o", "{out}.png", "--hint", "3,3,blue"], "x,y,#RRGGBB"),
    (["{ok}", "-o", "{out}.txt"], "give an image file name"),
    (["{ok}", "-o", "{blocked}/x.png"], "is a file, not a folder"),
    (["{out}.png"], "no such file"),
])
def test_bad_inputs(bad_input, argv, needle):
    bad_input("colorize", argv, needle)


def test_bad_inputs_tiny_image_and_empty_video(bad_input, tmp_path):
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    bad_input("colorize", [tmp_path / "dot.png", "-o", "{out}.png"], "needs at least 16 px")
    (tmp_path / "nothing.mp4").write_bytes(b"\x00" * 64)
    bad_input("colorize", [tmp_path / "nothing.mp4", "-o", "{out}.mp4"], "nothing.mp4")


# ------------------------------------------------------------------------------------------- torchrun


@pytest.mark.slow
def test_two_gloo_processes_train_the_same_network_as_one(tmp_path, run_cli, torchrun_cli, one_torch_thread):
    """Crops come from (seed, epoch, index), hints from each crop's own seed, and batch norm uses the global
    batch's statistics under torchrun, so two processes with half the batch each compute one process's gradients,
    across an epoch boundary. Compared: Adam's first moments (a running sum of the gradients), at a tiny learning
    rate, because Adam's normalised steps on 4-image batches turn float rounding into visible weight differences
    (one process with 1 or 2 threads differs as much)."""
    from deepgallery.core import checkpoint

    data = tmp_path / "photos"
    data.mkdir()
    for s in range(4):
        Image.fromarray(two_colour_photo(48, 48, s)).save(data / f"{s}.png")
    common = ("train", "colorize", "--data", data, "--labels", "none", "--steps", 3, "--batch", 4, "--size", 32,
              "--crops-per-photo", 2, "--width", 0.125, "--lr", 1e-7)
    code, _, err = run_cli(*common, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    _, _, meta_one = checkpoint.load(tmp_path / "one" / "state")
    _, _, meta_two = checkpoint.load(tmp_path / "two" / "state")
    assert meta_one["step"] == meta_two["step"] == 3
    one, two = meta_one["_optim_tensors"], meta_two["_optim_tensors"]
    moments = [k for k in one if k.endswith("/exp_avg")]
    scale = max(float(one[k].abs().max()) for k in moments)
    for key in moments:  # 2 % of each tensor's largest gradient (a wrong batch or statistic is off by ~100 %)
        torch.testing.assert_close(two[key], one[key], rtol=0, atol=0.02 * float(one[key].abs().max()) + 1e-6 * scale)
    assert json.loads((tmp_path / "one" / "state.json").read_text())["config"]["net"]["classes"] == 0
