"""handwriting: the simulated writers and their pen timing, the stroke encoding, the paper's window and mixture
density (against explicit formulas), the derivative clipping and the sampling bias, training that learns and
resumes, the IAM-OnDB loader on a fixture in its own layout, priming, the run command's files and its bad inputs,
and two gloo processes taking one process's steps."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from deepgallery.apps.handwriting import APP
from deepgallery.apps.handwriting.data import (
    ALPHABET,
    encode,
    from_offsets,
    line_height,
    make_batch,
    read_iam_ondb,
    read_strokes_json,
    resample,
    split_heldout,
    to_offsets,
)
from deepgallery.apps.handwriting.model import (
    GradClip,
    NetConfig,
    SynthesisNet,
    log_likelihood,
    prime_inputs,
    sequence_loss,
    write,
)
from deepgallery.apps.handwriting.train import GravesRMSProp, Pool, TrainConfig, train
from deepgallery.core.errors import UserError

TINY = NetConfig(hidden=16, layers=2, window=3, mixtures=4, scale=1.0, rate=20.0, line_height=8.0)


def curve_line(rng: np.random.Generator, letters: int) -> list[np.ndarray]:
    """A stand-in for a line of writing without the fonts: one loop per letter, a stroke per word."""
    strokes, x, t = [], 0.0, 0.0
    for _ in range(max(1, letters // 4)):
        u = np.linspace(0, 2 * np.pi * 4, 40)
        s = np.c_[x + u * 1.2 + np.sin(u) * 2, 5 * np.cos(u) + rng.normal(0, 0.2, len(u)),
                  t + np.arange(len(u)) / 100]  # a pen sampled at 100 Hz
        strokes.append(s)
        x, t = s[-1, 0] + 8, s[-1, 2] + 0.2
    return strokes


def make_iam(root, forms=("a01-000u", "a01-001w", "b02-010x"), lines=2, seed=0):
    """A tiny IAM-OnDB in its own layout: lineStrokes/a01/a01-000/a01-000u-01.xml + ascii/a01/a01-000/a01-000u.txt
    (the text lines after CSR:), whiteboard y pointing down."""
    rng = np.random.default_rng(seed)
    texts = ["a move to stop", "nominating any more", "Labour life Peers"]
    for form in forms:
        group, page = form[:3], form[:7]
        sdir, adir = root / "lineStrokes" / group / page, root / "ascii" / group / page
        sdir.mkdir(parents=True, exist_ok=True)
        adir.mkdir(parents=True, exist_ok=True)
        body = "\n".join(texts[(i + len(form)) % 3] for i in range(lines))
        (adir / f"{form}.txt").write_text(f"Data:\nwriter something\n\nOCR:\n\n{body}\n\nCSR:\n\n{body}\n")
        for i in range(1, lines + 1):
            strokes = curve_line(rng, 12)
            xml = ['<?xml version="1.0" encoding="ISO-8859-1"?>', "<WhiteboardCaptureSession>",
                   '<WhiteboardDescription><SensorLocation corner="top_left"/></WhiteboardDescription>', "<StrokeSet>"]
            for s in strokes:
                xml.append(f'<Stroke colour="black" start_time="{s[0, 2] + 700:.2f}" end_time="{s[-1, 2] + 700:.2f}">')
                xml += [f'<Point x="{1000 + 20 * x:.0f}" y="{1200 - 20 * y:.0f}" time="{700 + tt:.3f}"/>'
                        for x, y, tt in s]
                xml.append("</Stroke>")
            xml += ["</StrokeSet>", "</WhiteboardCaptureSession>"]
            (sdir / f"{form}-{i:02d}.xml").write_text("\n".join(xml))
    return root


@pytest.fixture(scope="module")
def iam_dir(tmp_path_factory):
    return make_iam(tmp_path_factory.mktemp("iam"))


def tiny_pool(n=8, seed=0) -> Pool:
    rng = np.random.default_rng(seed)
    texts = ["a move", "to stop it", "nominating", "any more"]
    return Pool([to_offsets(curve_line(rng, 8)) for _ in range(n)], [texts[i % 4] for i in range(n)], 20.0)


# ---------------------------------------------------------------------------------------- simulated writers


def test_writers_are_fixed_styles_and_pen_timing_is_minimum_jerk():
    synth = pytest.importorskip("deepgallery.apps.handwriting.synth")
    pytest.importorskip("HersheyFonts")
    assert synth.writer(3) == synth.writer(3) and synth.writer(3) != synth.writer(4)
    assert synth.is_heldout(synth.TRAIN_WRITERS) and not synth.is_heldout(synth.TRAIN_WRITERS - 1)
    a = synth.write_line("hello world", synth.writer(5), seed=1, rate=50)
    b = synth.write_line("hello world", synth.writer(5), seed=1, rate=50)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    t = np.concatenate([s[:-1, 2] for s in a])  # within a stroke, one point every 1/rate s (the last may be early)
    gaps = np.concatenate([np.diff(s[:-1, 2]) for s in a if len(s) > 2])
    np.testing.assert_allclose(gaps, 1 / 50, atol=1e-9)
    assert np.all(np.diff(t) > 0)
    # a minimum-jerk movement: covers 0 → 1, peak speed at the middle 15/8 of the mean speed
    mj = synth._minimum_jerk
    assert mj(np.array(0.0)) == 0 and mj(np.array(1.0)) == pytest.approx(1.0)
    tau = np.linspace(0, 1, 2001)
    speed = np.gradient(mj(tau), tau)
    assert tau[speed.argmax()] == pytest.approx(0.5, abs=1e-3) and speed.max() == pytest.approx(1.875, rel=1e-3)
    # a straight line is one movement; a V is two (the pen stops at the cusp)
    assert len(synth._submovements(np.array([[0, 0], [1, 0], [2, 0.0]]))) == 1
    assert len(synth._submovements(np.array([[0, 0], [1, 2], [2, 0.0]]))) == 2


def test_joined_hand_lifts_the_pen_less_and_glyph_file_gives_the_same_lines(tmp_path):
    synth = pytest.importorskip("deepgallery.apps.handwriting.synth")
    pytest.importorskip("HersheyFonts")
    script = next(i for i in range(1, 50, 2) if synth.writer(i).join > 5)
    joined = synth.write_line("minimum", synth.writer(script))
    tables = synth.glyph_tables()
    assert len(joined) < len(tables["script"]["m"][2]) * 7  # letters run into each other: fewer pen lifts
    before = synth.write_line("Quick, 42!", synth.writer(7), seed=3)
    synth.save_glyphs(tmp_path / "glyphs.json")
    try:
        synth.use_glyph_file(tmp_path / "glyphs.json")
        after = synth.write_line("Quick, 42!", synth.writer(7), seed=3)
    finally:
        synth._GLYPH_FILE.clear()
        synth.glyph_tables.cache_clear()
    assert all(np.allclose(x, y) for x, y in zip(before, after, strict=True))
    assert not synth.writable(ALPHABET)  # every character of the model's alphabet has a glyph in both hands


# ------------------------------------------------------------------------------------------- stroke encoding


def test_offsets_round_trip_and_resampling():
    rng = np.random.default_rng(0)
    strokes = curve_line(rng, 12)
    off = to_offsets(strokes)
    assert off.shape == (sum(len(s) for s in strokes), 3) and off[:, 2].sum() == len(strokes)
    back = from_offsets(off)
    assert len(back) == len(strokes)
    for a, b in zip(back, strokes, strict=True):
        np.testing.assert_allclose(a, b[:, :2] - strokes[0][0, :2], atol=1e-4)
    r = resample(strokes, 5.0)
    assert all(np.allclose(np.diff(s[:-1, 2]), 0.2) for s in r)
    assert sum(len(s) for s in r) < sum(len(s) for s in strokes)
    with pytest.raises(UserError, match="'€'"):
        encode("a€b")


# ------------------------------------------------------------------------------------ the network (Sec. 4-5)


def test_soft_window_is_eq_46_47_and_kappa_only_moves_forward():
    torch.manual_seed(0)
    net = SynthesisNet(TINY)
    h1 = torch.randn(2, TINY.hidden)
    chars = torch.tensor([encode("abca"), encode("ab  ")])
    cmask = torch.tensor([[1.0, 1, 1, 1], [1, 1, 0, 0]])
    onehot = torch.nn.functional.one_hot(chars, len(ALPHABET)).float()
    kappa0 = torch.rand(2, TINY.window)
    w, kappa, phi = net.soft_window(h1, kappa0, onehot, cmask)
    a_hat, b_hat, k_hat = net.window(h1).chunk(3, -1)
    assert torch.all(kappa > kappa0)
    torch.testing.assert_close(kappa, kappa0 + k_hat.exp())
    for b in range(2):
        for u in range(4):
            expect = sum(a_hat[b, k].exp() * torch.exp(-b_hat[b, k].exp() * (kappa[b, k] - u) ** 2)
                         for k in range(TINY.window)) * cmask[b, u]
            torch.testing.assert_close(phi[b, u], expect)
        torch.testing.assert_close(w[b], (phi[b, :, None] * onehot[b]).sum(0))


def test_mixture_density_matches_a_bivariate_normal_and_the_bias_sharpens_it():
    torch.manual_seed(1)
    net = SynthesisNet(TINY)
    y_hat = torch.randn(1, 1, 1 + 6 * TINY.mixtures)
    mix = net.mixture(y_hat)
    target = torch.tensor([[[0.3, -0.2, 1.0]]])
    total = 0.0
    for j in range(TINY.mixtures):
        s, r = mix.sigma[0, 0, j], mix.rho[0, 0, j]
        cov = torch.tensor([[s[0] ** 2, r * s[0] * s[1]], [r * s[0] * s[1], s[1] ** 2]])
        dist = torch.distributions.MultivariateNormal(mix.mu[0, 0, j], cov)
        total += mix.log_pi[0, 0, j].exp() * dist.log_prob(target[0, 0, :2]).exp()
    e = 1 / (1 + math.exp(y_hat[0, 0, 0].item()))  # eq. 18
    expect = math.log(total.item()) + math.log(e)
    assert log_likelihood(mix, target).item() == pytest.approx(expect, rel=1e-5)
    biased = net.mixture(y_hat, bias=2.0)  # eqs. 61-62
    torch.testing.assert_close(biased.sigma, mix.sigma * math.exp(-2.0))
    entropy = lambda lp: -(lp.exp() * lp).sum().item()  # noqa: E731
    assert entropy(biased.log_pi) < entropy(mix.log_pi)


def test_derivatives_are_clipped_at_the_papers_bounds():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (GradClip.apply(x, 10.0) * torch.tensor([-50.0, 5.0, 500.0])).sum().backward()
    assert x.grad.tolist() == [-10.0, 5.0, 10.0]


def test_training_lowers_the_loss_and_resumes(tmp_path, one_torch_thread):
    pools = (tiny_pool(8), tiny_pool(2, seed=1), "curves")
    cfg = TrainConfig(hidden=16, layers=2, window=3, mixtures=4, steps=30, batch=4, lr=1e-2, save_every=10)
    result = train(tmp_path, cfg, pools=pools, log=lambda *a: None)
    assert result.step == 30 and np.mean(result.losses[-5:]) < np.mean(result.losses[:5]) - 0.3
    more = train(tmp_path, TrainConfig(**{**cfg.__dict__, "steps": 35}), pools=pools, log=lambda *a: None)
    assert more.step == 35 and len(more.losses) == 5  # continued from step 30, not from scratch


def test_graves_rmsprop_follows_eqs_38_to_41():
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = GravesRMSProp([p], lr=0.1)
    p.grad = torch.tensor([2.0])
    opt.step()
    n, g = 0.05 * 4, 0.05 * 2
    assert p.item() == pytest.approx(1 - 0.1 * 2 / math.sqrt(n - g * g + 1e-4))


# ------------------------------------------------------------------------------------------------ IAM-OnDB


def test_iam_ondb_loader_reads_its_layout_and_splits_by_writer(iam_dir, tmp_path):
    lines = read_iam_ondb(iam_dir)
    assert len(lines) == 6 and not lines.skipped
    texts = {ln.text for ln in lines.lines}
    assert texts <= {"a move to stop", "nominating any more", "Labour life Peers"}
    first = lines.lines[0].strokes
    assert first[0][0, 2] == 0 and all(s.shape[1] == 3 for s in first)
    assert first[0][:, 1].max() <= 0  # whiteboard y down became y up
    train_idx, held = split_heldout(lines, fraction=0.5)
    assert held and train_idx and {lines.lines[i].writer for i in held}.isdisjoint(
        {lines.lines[i].writer for i in train_idx})
    with pytest.raises(UserError, match="not an IAM-OnDB folder"):
        read_iam_ondb(tmp_path)
    broken = make_iam(tmp_path / "broken", forms=("c03-000a",), lines=1)
    (broken / "lineStrokes" / "c03" / "c03-000" / "c03-000a-01.xml").write_text("<not xml")
    with pytest.raises(UserError, match="no usable line"):
        read_iam_ondb(broken)


def test_train_command_on_iam_ondb_fixture(iam_dir, tmp_path, run_cli, one_torch_thread):
    code, out, err = run_cli("train", "handwriting", "--data", "iam", iam_dir, "--steps", 3, "--batch", 2,
                             "--hidden", 8, "--layers", 2, "--window", 2, "--mixtures", 2, "--out", tmp_path / "run",
                             "--export", tmp_path / "mine", "--device", "cpu")
    assert code == 0, err
    meta = json.loads((tmp_path / "mine.json").read_text())
    assert meta["meta"]["steps"] == 3 and "IAM-OnDB" in meta["meta"]["data"]
    assert meta["config"]["net"]["rate"] == pytest.approx(100.0, rel=0.01)  # the fixture pen: 1 point per 10 ms
    code, _, err = run_cli("run", "handwriting", "abc", "--checkpoint", tmp_path / "mine", "--style", 0,
                           "-o", tmp_path / "w")
    assert code == 0, err
    assert (tmp_path / "w.svg").read_text().count("<polyline") + (tmp_path / "w.svg").read_text().count("<circle")


# ------------------------------------------------------------------------------------- sampling and priming


def test_sampling_stops_when_the_window_passes_the_text_and_priming_scales_the_strokes():
    torch.manual_seed(0)
    net = SynthesisNet(TINY)
    with torch.no_grad():  # κ jumps a whole character per step: the window leaves a 3-letter text in ~4 steps
        net.window.weight.zero_()
        net.window.bias.copy_(torch.tensor([0.0] * 3 + [0.0] * 3 + [0.0] * 3))
    written = write(net, "abc", bias=0.5, seed=0)
    assert written.finished and 3 <= written.phi.shape[0] <= 5 and written.phi.shape[1] == 4
    strokes = [np.c_[s[:, 0] * 37, s[:, 1] * 37, s[:, 2]] for s in curve_line(np.random.default_rng(2), 8)]
    px = prime_inputs(net, strokes)  # resampled to the net's rate and scaled to its line height
    rebuilt = [np.c_[s, np.zeros(len(s))] for s in from_offsets(px[0].numpy())]
    assert line_height(rebuilt) == pytest.approx(TINY.line_height, rel=0.15)
    primed = write(net, "ab", seed=0, prime=(strokes, "a move"))
    assert primed.phi.shape[1] == 3  # the new text's two characters and the end, not the prime's


def test_strokes_json_formats(tmp_path):
    pts = [[[0, 0, 0.0], [1, 1, 0.01]] * 6]
    strokes, text = read_strokes_json(json.dumps({"strokes": pts, "text": " hi  there "}))
    assert text == "hi there" and strokes[0][1, 1] == -1  # screen y down became y up
    f = tmp_path / "s.json"
    f.write_text(json.dumps(pts))
    assert read_strokes_json(f)[1] is None
    for bad, needle in (("{", "not JSON"), ("[[1, 2]]", "not a list of strokes"), ("[[[0, 0, 0]]]", "too little")):
        with pytest.raises(UserError, match=needle):
            read_strokes_json(bad)


# ---------------------------------------------------------------------------------------- the run command


def test_run_writes_svg_png_animation_and_window(tmp_path, run_cli, one_torch_thread):
    code, out, err = run_cli("run", "handwriting", "hi", "--bias", 2, "--style", 2, "-o", tmp_path / "hw.png")
    assert code == 0, err
    for name in ("hw.svg", "hw.png", "hw.gif", "hw-window.png"):
        assert (tmp_path / name).stat().st_size > 100, name
    prime = tmp_path / "mine.json"
    prime.write_text(json.dumps({"strokes": [s[:, :3].tolist() for s in curve_line(np.random.default_rng(0), 8)]}))
    code, out, err = run_cli("run", "handwriting", "ok", "--prime", prime, "--prime-text", "a move",
                             "-o", tmp_path / "p")
    assert code == 0 and "your strokes" in out, err
    assert APP.checkpoint("synthesis").with_suffix(".json").is_file()


def test_bad_inputs(bad_input, tmp_path):
    bad_input("handwriting", ["", "-o", "{out}"], "give some text")
    bad_input("handwriting", ["   ", "-o", "{out}"], "give some text")
    bad_input("handwriting", ["naïve ☺", "-o", "{out}"], "cannot write 'ï', '☺'")
    bad_input("handwriting", ["hello", "--style", "99", "-o", "{out}"], "there are styles")
    bad_input("handwriting", ["hello", "--prime", "{bad}", "-o", "{out}"], "not JSON")
    bad_input("handwriting", ["hello", "--prime", "{out}.json", "-o", "{out}"], "no such file")
    bad_input("handwriting", ["hello", "--prime-text", "hi", "-o", "{out}"], "give --prime")
    bad_input("handwriting", ["hello", "--bias", "-1", "-o", "{out}"], "--bias must be >= 0")
    bad_input("handwriting", ["hello", "-o", "{blocked}/x"], "is a file")
    bad_input("handwriting", ["--data", "iam", "{blocked}", "--out", "{out}"], "not an IAM-OnDB folder", verb="train")


def test_predict_and_batch_shapes(one_torch_thread):
    from deepgallery.apps.handwriting.entry import predict

    res = predict(text="ab", style=0, bias=3.0, seed=1)
    assert set(res) == {o.name for o in APP.outputs} and all(p.is_file() for p in res.values())
    batch = make_batch([np.ones((5, 3), np.float32), np.ones((3, 3), np.float32)], ["ab", "a"], 2.0)
    assert batch.x.shape == (2, 5, 3) and batch.mask.sum() == 8 and batch.inputs()[:, 0].abs().sum() == 0
    net = SynthesisNet(TINY)
    loss = sequence_loss(net, batch)
    assert loss.ndim == 0 and torch.isfinite(loss)


# ------------------------------------------------------------------------------------- several processes


@pytest.mark.slow
def test_two_gloo_processes_train_the_same_network_as_one(iam_dir, tmp_path, run_cli, torchrun_cli,
                                                          one_torch_thread):
    """Every step's global batch comes from (seed, step); each process takes half and divides by the global point
    count, so two processes take one process's steps."""
    from deepgallery.core import checkpoint

    common = ("train", "handwriting", "--data", "iam", iam_dir, "--steps", 3, "--batch", 4, "--hidden", 8,
              "--layers", 2, "--window", 2, "--mixtures", 2, "--device", "cpu")
    code, _, err = run_cli(*common, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, _, meta_one = checkpoint.load(tmp_path / "one" / "state")
    two, _, meta_two = checkpoint.load(tmp_path / "two" / "state")
    assert meta_one["step"] == meta_two["step"] == 3
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)
