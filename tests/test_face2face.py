"""face2face: pose removal, expression transfer, mesh warp, mouth retrieval, the frame loop and bad input."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from deepgallery.apps.face2face import mesh, mouth, pipeline, render, synthetic, transfer  # noqa: E402

EXAMPLES = synthetic.EXAMPLES


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


@pytest.fixture(scope="module")
def face():
    """The astronaut photo (640×480) and its tracked landmarks (478, 3)."""
    photo = synthetic.load_photo("astronaut.jpg")
    lms = mesh.FaceTracker(video=False)(photo)
    assert lms is not None and lms.shape == (478, 3)
    return photo, lms


def test_procrustes_recovers_a_known_head_pose():
    rng = np.random.default_rng(0)
    neutral = rng.normal(size=(478, 3)) * 50
    R, s, t = _rotation(0.3, -0.2, 0.15), 1.3, np.array([20.0, -5.0, 3.0])
    current = s * neutral @ R.T + t
    lips = list(mouth.LIPS)
    current[lips] += rng.normal(size=(len(lips), 3)) * 10  # an expression on non-rigid points must not disturb it
    pose = transfer.head_pose(neutral, current)
    assert np.allclose(pose.R, R, atol=1e-9) and pose.s == pytest.approx(s) and np.allclose(pose.t, t)
    back = transfer.remove_pose(neutral, current)
    rigid = list(mesh.RIGID)
    assert np.allclose(back[rigid], neutral[rigid], atol=1e-8)
    assert not np.allclose(back[lips], neutral[lips], atol=1.0)  # the expression is what remains


def test_expression_change_moves_the_target_and_nothing_else():
    rng = np.random.default_rng(1)
    s0 = rng.normal(size=(478, 3)) * 40
    t0 = 0.7 * s0 @ _rotation(0.0, 0.0, 0.2).T + rng.normal(size=(478, 3))  # another face, size and roll
    delta = np.zeros((478, 3))
    delta[list(mouth.LIPS), 1] = 8.0  # lips move down
    src_pose = _rotation(0.2, 0.1, -0.1)
    source_now = 1.1 * (s0 + delta) @ src_pose.T + 5  # source moved its head as well
    tgt_pose = _rotation(-0.25, 0.05, 0.3)
    target_now = 0.9 * t0 @ tgt_pose.T - 7
    cfg = transfer.TransferConfig(smoothing=0.0, anisotropic=False)
    et = transfer.ExpressionTransfer(s0, t0, cfg)
    intended, canonical = et(source_now, target_now)
    s2t = transfer.head_pose(s0, t0)
    expected_canonical = t0 + s2t.rotate(delta)
    assert np.allclose(canonical, expected_canonical, atol=1e-6)
    pose = transfer.head_pose(t0, target_now)
    assert np.allclose(intended, pose.apply(expected_canonical), atol=1e-6)
    rigid = list(mesh.RIGID)
    assert np.allclose(intended[rigid], target_now[rigid], atol=1e-6)  # the head stays where the target has it
    # neutral source → the target keeps its own (neutral) face in its current pose
    still, _ = transfer.ExpressionTransfer(s0, t0, cfg)(1.1 * s0 @ src_pose.T + 5, target_now)
    assert np.allclose(still, target_now, atol=1e-6)


def test_smoothing_blends_with_the_previous_frame():
    rng = np.random.default_rng(2)
    s0 = rng.normal(size=(478, 3)) * 40
    et = transfer.ExpressionTransfer(s0, s0, transfer.TransferConfig(smoothing=0.5, anisotropic=False))
    moved = s0.copy()
    moved[list(mouth.LIPS), 1] += 10
    first = et.target_delta(s0)
    second = et.target_delta(moved)
    assert np.allclose(first, 0, atol=1e-8)
    assert np.allclose(second[list(mouth.LIPS), 1], 5.0, atol=1e-6)  # halfway after one frame


def test_mesh_warp_is_the_identity_when_nothing_moves(face):
    photo, lms = face
    patch, mask, (x0, y0, x1, y1) = render.reshape_face(photo, lms, lms)
    assert mask.mean() > 100  # most of the window is covered by the mesh
    assert np.array_equal(patch, photo[y0:y1, x0:x1])


def test_mesh_warp_moves_pixels_with_the_landmarks(face):
    photo, lms = face
    moved = lms.copy()
    moved[:, 0] += 4.0  # the whole face 4 px to the right (the outer ring stays)
    patch, mask, (x0, y0, x1, y1) = render.reshape_face(photo, lms, moved)
    nose = np.round(lms[4, :2]).astype(int)
    ys, xs = slice(nose[1] - 5, nose[1] + 5), slice(nose[0] - 5, nose[0] + 5)
    got = patch[ys.start - y0:ys.stop - y0, xs.start + 4 - x0:xs.stop + 4 - x0].astype(int)
    assert np.abs(got - photo[ys, xs].astype(int)).max() <= 2


def test_reenactment_with_a_still_source_leaves_the_target_as_it_is(face):
    """Source at its neutral face → the target is written back as it was (up to Poisson rounding).

    The trackers are replaced by fixed landmarks so that the tracker's own jitter does not enter the test."""
    photo, lms = face
    source = synthetic.load_photo("grace_hopper.jpg")
    known = {id(photo): lms, id(source): mesh.FaceTracker(video=False)(source)}
    r = pipeline.Reenactor(pipeline.Face2FaceConfig(blend="poisson"), tracker=lambda video: lambda im: known[id(im)])
    for i in range(3):
        res = r.step(source, photo, i, target_still=True)
        assert res.message == ""
        assert np.abs(res.image.astype(int) - photo.astype(int)).max() <= 2


def test_neutral_is_the_mean_of_the_first_faces(face):
    photo, lms = face
    lips = list(mouth.LIPS)
    faces = []
    for k in (0.0, 1.0, 2.0):
        f = lms.copy()
        f[lips, 1] += k  # the lips move; the head moves too (a shift), which the mean must ignore
        faces.append(f + (5 * k, -3 * k, 0))
    it = iter(faces)
    r = pipeline.Reenactor(pipeline.Face2FaceConfig(neutral_frames=3), tracker=lambda video: lambda im: next(it))
    r.track_target = lambda im: lms
    for i in range(3):
        r.step(photo, photo, i)
    expected = lms.copy()
    expected[lips, 1] += 1.0
    assert np.allclose(r.source_neutral, expected, atol=1e-6)
    assert r._seen == [3, 3]


def test_open_mouth_is_transferred(face):
    """A source that opens its mouth opens the target's: the lips of the output move toward the intended ones."""
    photo, _ = face
    script = [synthetic.Expression(), synthetic.Expression(jaw=0.5), synthetic.Expression(jaw=1.0)]
    frames, _ = synthetic.make_clip(synthetic.load_photo("grace_hopper.jpg"), script)
    r = pipeline.Reenactor(pipeline.Face2FaceConfig(transfer=transfer.TransferConfig(smoothing=0.0)))
    results = [r.step(f, photo, 0, target_still=True) for f in frames]
    found = mesh.FaceTracker(video=False)(results[-1].image)
    assert found is not None
    opening = [mouth.mouth_opening(x) for x in (results[0].target, results[-1].intended, found)]
    assert opening[1] > opening[0] + 0.1  # the intended target mouth is open
    assert opening[2] > opening[0] + 0.5 * (opening[1] - opening[0])  # and the rendered one is too
    iod = mesh.inter_ocular(results[-1].intended)
    lips = list(mouth.LIPS)
    err = np.linalg.norm(found[lips, :2] - results[-1].intended[lips, :2], axis=1).mean() / iod
    before = np.linalg.norm(results[-1].target[lips, :2] - results[-1].intended[lips, :2], axis=1).mean() / iod
    assert err < 0.6 * before


def test_mouth_retrieval_picks_the_matching_mouth(face):
    photo, lms = face
    db = mouth.MouthDatabase(lms, mouth.MouthConfig(temporal_weight=0.0))
    opened = synthetic.deform(lms, synthetic.Expression(jaw=1.0))
    half = synthetic.deform(lms, synthetic.Expression(jaw=0.5))
    assert db.add(photo, lms, 0) and db.add(photo, opened, 1) and db.add(photo, half, 2)
    assert not db.add(photo, lms, 3)  # a near-duplicate mouth is not stored twice
    assert db.entries[db.retrieve(synthetic.deform(lms, synthetic.Expression(jaw=0.95)))].frame == 1
    assert db.entries[db.retrieve(lms)].frame == 0


def _stream(frames, still=False):
    return pipeline.Stream("test", iter(frames), fps=10.0, still=still)


def test_frame_without_a_face_is_said_and_written_unchanged(face, tmp_path, capsys):
    photo, _ = face
    source = synthetic.load_photo("grace_hopper.jpg")
    blank = np.full_like(source, 127)
    r = pipeline.Reenactor()
    res = r.step(blank, photo, 0, target_still=True)
    assert res.message == "no face in the source frame" and res.image is photo
    out = tmp_path / "out.gif"
    summary = pipeline.reenact(_stream([source, blank, source]), _stream([photo], still=True), out)
    assert out.is_file() and summary.frames == 3 and summary.unchanged == [1]
    said = capsys.readouterr().out
    assert "frame 1: no face in the source frame (target written unchanged)" in said
    assert "frame 0" not in said and "frame 2" not in said


def test_two_photos_need_the_actors_neutral_photo(face, tmp_path, run_cli):
    import imageio.v2 as iio

    from deepgallery.core.media import read_image, save_image

    photo, lms = face
    frames = [f for i, f in enumerate(iio.get_reader(str(EXAMPLES / "actor.mp4"))) if i == 10]
    smile = save_image(tmp_path / "open.png", frames[0])  # the actor with the mouth wide open
    target = str(EXAMPLES / "astronaut.jpg")
    out, plain = tmp_path / "x.png", tmp_path / "plain.png"
    code, _, err = run_cli("run", "face2face", "--source", smile, "--target", target, "-o", plain)
    assert code == 0
    assert "no --source-neutral was given" in err
    assert np.abs(read_image(plain).astype(int) - photo.astype(int)).max() <= 2  # nothing to transfer
    code, _, _ = run_cli("run", "face2face", "--source", smile, "--source-neutral", EXAMPLES / "grace_hopper.jpg",
                         "--target", target, "-o", out)
    assert code == 0
    found = mesh.FaceTracker(video=False)(read_image(out))
    assert mouth.mouth_opening(found) > mouth.mouth_opening(lms) + 0.15  # the target's mouth opened


@pytest.mark.parametrize("case", ["missing", "not_a_video", "camera", "wrong_suffix"])
def test_bad_input_exits_2_with_one_line(case, tmp_path, run_cli):
    target = str(EXAMPLES / "astronaut.jpg")
    out = tmp_path / "out.mp4"
    if case == "missing":
        args = ["--source", str(tmp_path / "nope.mp4"), "--target", target]
    elif case == "not_a_video":
        bad = tmp_path / "bad.mp4"
        bad.write_text("not a video")
        args = ["--source", str(bad), "--target", target]
    elif case == "camera":
        args = ["--camera", "97", "--target", target]
    else:
        args = ["--source", str(EXAMPLES / "actor.mp4"), "--target", target]
        out = tmp_path / "out.txt"
    code, _, err = run_cli("run", "face2face", *args, "-o", out)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("deepgallery: error:")
    assert not out.exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize("flag, value, says", [
    ("--strength", "-1", "--strength must be >= 0"),
    ("--strength", "strong", "--strength must be a number"),
    ("--smoothing", "1", "--smoothing must be in [0, 1)"),
    ("--smoothing", "1.5", "--smoothing must be in [0, 1)"),
    ("--smoothing", "-0.1", "--smoothing must be >= 0"),
    ("--max-side", "10", "--max-side must be >= 64"),
    ("--max-frames", "0", "--max-frames must be >= 1"),
    ("--max-frames", "2.5", "--max-frames must be an integer"),
])
def test_bad_numbers_exit_2_with_one_line(flag, value, says, tmp_path, run_cli):
    out = tmp_path / "out.mp4"
    code, _, err = run_cli("run", "face2face", "--source", EXAMPLES / "actor.mp4", "--target",
                           EXAMPLES / "astronaut.jpg", "-o", out, flag, value)
    assert code == 2 and len(err.splitlines()) == 1 and says in err
    assert not out.exists()


def test_computes_without_pytorch():
    """No module of the app imports torch (so `run face2face` rightly has no --device flag: nothing would move to a
    GPU), and the benchmark says it ran on the CPU."""
    import ast
    from pathlib import Path

    from deepgallery import registry

    app = registry.get("face2face")
    for path in Path(app.folder).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "torch" for n in names), f"{path.name} imports torch"
    assert "--device" not in app.arg_parser("run").format_help()
    assert callable(app.bench_module().bench) and not hasattr(app.hooks(), "bench")


def test_cavity_keeps_the_opened_mouth_dark(face):
    """Opened beyond every stored mouth: cavity mode shows a dark gap, stretching smears the (bright) teeth."""
    import cv2

    photo, lms = face
    opened = synthetic.deform(lms, synthetic.Expression(jaw=1.0))
    patch, _, box = render.reshape_face(photo, lms, opened)
    ring = np.round(opened[list(mesh.INNER_LIPS), :2] - box[:2]).astype(np.int32)
    inside = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillPoly(inside, [ring], 255)
    inside = cv2.erode(inside, np.ones((5, 5), np.uint8)) > 0
    brightness = {}
    for cavity in (True, False):
        db = mouth.MouthDatabase(lms, mouth.MouthConfig(cavity=cavity))
        db.add(photo, lms, 0)
        out = db.composite(patch, box, opened, opened, current_frame=0)
        brightness[cavity] = out[inside].mean()
    assert brightness[True] < 0.6 * brightness[False]


class _FakeCamera:
    """Stands in for cv2.VideoCapture: a few BGR frames of the actor photo, then the end of the stream."""

    def __init__(self, index):
        self.frames = [synthetic.load_photo("grace_hopper.jpg")[..., ::-1].copy() for _ in range(4)]

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def read(self):
        return (True, self.frames.pop()) if self.frames else (False, None)

    def release(self):
        pass


def test_webcam_as_source(face, tmp_path, monkeypatch, run_cli):
    import cv2

    monkeypatch.setattr(cv2, "VideoCapture", _FakeCamera)
    out = tmp_path / "cam.mp4"
    code, said_out, said_err = run_cli("run", "face2face", "--camera", 0, "--target", EXAMPLES / "astronaut.jpg",
                                       "-o", out)
    assert code == 0 and out.is_file()
    assert "4 frames" in said_out and "camera 0 stopped" in said_err


def test_poisson_solver_matches_a_direct_solve():
    """The DST solver solves the discrete Poisson equation exactly (checked against a sparse direct solve)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    rng = np.random.default_rng(3)
    h, w = 9, 11
    src, dst = rng.uniform(0, 255, (h, w, 1)), rng.uniform(0, 255, (h, w, 1))
    mask = np.zeros((h, w), bool)
    mask[3:6, 2:8] = True
    got = render.poisson_solve(src, dst, mask)[..., 0]
    # the same equations written out: Σ_q (f_q − f_p) = Σ_q v(p→q) for interior p, f = dst on the border
    index = {(y, x): i for i, (y, x) in enumerate((y, x) for y in range(1, h - 1) for x in range(1, w - 1))}
    a, b = sp.lil_matrix((len(index), len(index))), np.zeros(len(index))
    for (y, x), i in index.items():
        for qy, qx in ((y, x + 1), (y, x - 1), (y + 1, x), (y - 1, x)):
            touches = mask[y, x] or mask[qy, qx]
            img = src if touches else dst
            b[i] += img[qy, qx, 0] - img[y, x, 0]
            a[i, i] -= 1
            if (qy, qx) in index:
                a[i, index[(qy, qx)]] += 1
            else:
                b[i] -= dst[qy, qx, 0]
    want = dst[..., 0].copy()
    sol = spsolve(a.tocsr(), b)
    for (y, x), i in index.items():
        want[y, x] = sol[i]
    assert np.allclose(got, want, atol=1e-2)
    assert np.allclose(render.poisson_solve(dst, dst, mask), dst, atol=1e-2)  # own pixels: nothing to blend
