"""pose: PAF grouping on synthetic maps with known people, targets, COCO loader + training, COCO JSON, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepgallery.apps.pose.grouping import GroupingConfig, greedy_match, group, limb_scores
from deepgallery.apps.pose.skeleton import KEYPOINTS, PAF_LIMBS
from deepgallery.apps.pose.synthetic import random_person, random_scene
from deepgallery.apps.pose.targets import confidence_maps, part_affinity_fields

EXAMPLES = Path(__file__).resolve().parents[1] / "deepgallery" / "apps" / "pose" / "examples"


def _maps(people: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return (confidence_maps(people, shape, 1, 3.0), part_affinity_fields(people, PAF_LIMBS, shape, 1, 2.0))


def _match(truth: np.ndarray, found) -> list[float]:
    """For each true person, the worst keypoint error of the found person closest to it."""
    errors = []
    for person in truth:
        errs = [float(np.abs(p.keypoints - person[:, :2]).max()) for p in found]
        errors.append(min(errs) if errs else np.inf)
    return errors


@pytest.mark.parametrize("seed", range(6))
def test_grouping_recovers_every_known_person(seed):
    rng = np.random.default_rng(seed)
    people = random_scene(rng, (256, 384), int(rng.integers(1, 6)))
    found = group(*_maps(people, (256, 384)), PAF_LIMBS)
    assert len(found) == len(people)
    assert max(_match(people, found)) <= 1.0  # every keypoint of every person, within a pixel
    assert all((p.scores > 0).all() for p in found)


def test_paf_decides_between_nearby_candidates():
    """A's wrist lies nearer to B's elbow than to A's own elbow: distance alone would pair it with B."""
    rng = np.random.default_rng(0)
    a = random_person(rng, 200, (110, 240), jitter=0.0)
    b = random_person(rng, 200, (250, 240), jitter=0.0)
    a[7, :2], a[9, :2] = (144, 116), (205, 120)  # A's left elbow, and its wrist reaching towards B
    b[8, :2] = (217, 116)  # B's right elbow right next to it
    assert np.linalg.norm(a[9, :2] - b[8, :2]) < np.linalg.norm(a[9, :2] - a[7, :2])
    people = np.stack([a, b])
    found = group(*_maps(people, (256, 384)), PAF_LIMBS)
    assert len(found) == 2
    assert max(_match(people, found)) <= 1.0


def test_line_integral_scores_aligned_limbs_and_rejects_crossing_ones():
    paf = np.zeros((2, 50, 50), np.float32)
    paf[0, 20:31, 10:41] = 1.0  # a horizontal limb field, pointing to +x
    cand_a = np.array([[10, 25, 1.0]], np.float32)
    cand_b = np.array([[40, 25, 1.0], [10, 45, 1.0], [40, 5, 1.0]], np.float32)
    e = limb_scores(paf, cand_a, cand_b, GroupingConfig(length_prior=False), 50)
    assert e[0, 0] == pytest.approx(1.0)  # Eq. 10: the field is parallel to the segment all along
    assert np.isneginf(e[0, 1]) and np.isneginf(e[0, 2])  # across the field / leaving it: rejected
    reverse = limb_scores(paf, cand_b[:1], cand_a, GroupingConfig(length_prior=False), 50)
    assert np.isneginf(reverse[0, 0])  # PAFs are directional


def test_greedy_matching_takes_best_first_and_never_shares_an_endpoint():
    scores = np.array([[0.9, 0.8, -np.inf], [0.85, -np.inf, 0.3], [-np.inf, 0.7, 0.6]], np.float32)
    chosen = greedy_match(scores)
    assert chosen[0][:2] == (0, 0)
    assert {(i, j) for i, j, _ in chosen} == {(0, 0), (1, 2), (2, 1)}
    assert len({i for i, _, _ in chosen}) == len(chosen) == len({j for _, j, _ in chosen})


def test_ground_truth_maps_follow_eq_6_to_9():
    p = np.zeros((2, 17, 3), np.float32)
    p[0, 5], p[0, 7] = (10, 20, 2), (30, 20, 2)  # left shoulder → left elbow, pointing +x
    p[1, 5], p[1, 7] = (30, 22, 2), (10, 22, 2)  # another person's, pointing -x, overlapping
    s = confidence_maps(p, (40, 40), 1, 2.0)
    assert s.shape == (18, 40, 40) and s[5, 20, 10] == pytest.approx(1.0) and s[5, 22, 30] == pytest.approx(1.0)
    assert s[-1, 20, 10] == pytest.approx(0.0) and s[-1, 0, 0] == pytest.approx(1.0)  # background channel
    c = PAF_LIMBS.index((5, 7))
    L = part_affinity_fields(p, PAF_LIMBS, (40, 40), 1, 1.0)
    assert L[2 * c, 19, 20] == pytest.approx(1.0) and L[2 * c + 1, 19, 20] == pytest.approx(0.0)  # Eq. 8
    assert L[2 * c, 21, 20] == pytest.approx(0.0)  # both limbs cover this pixel: Eq. 9 averages +1 and -1
    assert L[2 * c, 23, 20] == pytest.approx(-1.0)
    assert np.abs(L[2 * c, 30:]).max() == 0.0  # off the limbs


@pytest.mark.usefixtures("one_torch_thread")
def test_coco_loader_training_loss_falls_and_checkpoint_runs(tmp_path):
    import torch

    from deepgallery.apps.pose.data import CocoKeypoints, DataConfig, load_coco
    from deepgallery.apps.pose.infer import PAFDetector
    from deepgallery.apps.pose.model import PAFConfig, PAFNet
    from deepgallery.apps.pose.synthetic import write_coco
    from deepgallery.apps.pose.train import TrainConfig, fit

    ann, images = write_coco(tmp_path / "coco", 6, size=(64, 64), seed=1)
    doc = json.loads(ann.read_text())
    doc["annotations"].append({"id": 99, "image_id": 0, "category_id": 1, "iscrowd": 1, "num_keypoints": 0,
                               "keypoints": [0] * 51, "bbox": [0, 0, 10, 10]})  # a crowd: masked, not a person
    ann.write_text(json.dumps(doc))
    records = load_coco(ann, images)
    assert len(records) == 6 and records[0]["people"].shape[1:] == (17, 3) and len(records[0]["ignore"]) == 1
    cfg = PAFConfig.small()
    ds = CocoKeypoints(records, DataConfig(size=64, stride=cfg.stride, sigma=2.0, limb_width=2.0, flip=False,
                                          scale_range=(1.0, 1.0)))
    x, s, paf, mask = ds[0]
    assert x.shape == (3, 64, 64) and s.shape == (18, 16, 16) and paf.shape == (2 * len(PAF_LIMBS), 16, 16)
    assert mask.shape == (1, 16, 16) and mask[0, 0, 0] == 0 and mask.mean() > 0.5
    torch.manual_seed(0)  # the network is built before fit() seeds; without this the result depends on test order
    out = tmp_path / "paf"
    hist = fit(PAFNet(cfg), ds, TrainConfig(steps=16, batch=3, lr=3e-3, save_every=8), out, torch.device("cpu"))
    assert np.mean(hist[-4:]) < 0.7 * np.mean(hist[:2])
    resumed = fit(PAFNet(cfg), ds, TrainConfig(steps=18, batch=3, lr=3e-3, save_every=8), out, torch.device("cpu"),
                  resume=True)
    assert len(resumed) == 2  # continued at step 16
    people = PAFDetector.from_checkpoint(out).detect(np.zeros((48, 64, 3), np.uint8))
    assert isinstance(people, list)


def test_paf_network_shapes_match_the_paper():
    import torch

    from deepgallery.apps.pose.model import PAFConfig, PAFNet

    cfg = PAFConfig()
    assert cfg.stride == 8 and cfg.stages == 6 and cfg.heatmap_channels == 18 and cfg.paf_channels == 32
    net = PAFNet(PAFConfig.small())
    outs = net(torch.zeros(1, 3, 64, 96))
    assert len(outs) == 2 and outs[-1][0].shape == (1, 18, 16, 24) and outs[-1][1].shape == (1, 32, 16, 24)


# ------------------------------------------------------------------------ the shipped pretrained model


def test_image_run_writes_png_and_coco_json(tmp_path, run_cli):
    pytest.importorskip("onnxruntime")
    out, js = tmp_path / "out.png", tmp_path / "out.json"
    code, said, _ = run_cli("run", "pose", EXAMPLES / "group5.jpg", "-o", out, "--json", js)
    assert code == 0
    doc = json.loads(js.read_text())
    assert doc["categories"][0]["keypoints"] == list(KEYPOINTS)
    anns = doc["annotations"]
    assert 3 <= len(anns) <= 6 and doc["people_per_frame"] == [len(anns)]
    for a in anns:
        assert a["image_id"] == 0 and a["category_id"] == 1 and len(a["keypoints"]) == 51 and 0 < a["score"] <= 1
        xs, ys = a["keypoints"][0::3], a["keypoints"][1::3]
        assert -50 < min(xs) and max(xs) < 690 and -50 < min(ys) and max(ys) < 530  # image is 640×480
    from deepgallery.core.media import read_image

    assert read_image(out).shape == (480, 640, 3)
    assert not np.array_equal(read_image(out), read_image(EXAMPLES / "group5.jpg"))  # skeletons drawn
    assert "people found" in said


def test_no_person_is_said_and_the_frame_is_written_unchanged(tmp_path, run_cli):
    pytest.importorskip("onnxruntime")
    from deepgallery.core.media import read_image, save_image

    blank = (np.random.default_rng(0).normal(128, 3, (120, 160, 3))).clip(0, 255).astype(np.uint8)
    src, out, js = tmp_path / "empty.png", tmp_path / "out.png", tmp_path / "out.json"
    save_image(src, blank)
    code, said, _ = run_cli("run", "pose", src, "-o", out, "--json", js)
    assert code == 0
    assert "no person found" in said
    assert np.array_equal(read_image(out), blank)
    assert json.loads(js.read_text())["annotations"] == []


def test_video_says_which_frames_have_nobody(tmp_path, run_cli):
    pytest.importorskip("onnxruntime")
    from deepgallery.core.media import read_image, write_video

    frames = [read_image(EXAMPLES / "basketball.jpg")[::2, ::2]] * 2 + [np.full((240, 320, 3), 90, np.uint8)] * 2
    src, out = tmp_path / "in.mp4", tmp_path / "out.gif"
    write_video(src, frames, fps=5)
    code, text, _ = run_cli("run", "pose", src, "-o", out, "--json", tmp_path / "v.json")
    assert code == 0
    assert text.count("no person found") == 2 and "frame 2: no person found" in text
    counts = json.loads((tmp_path / "v.json").read_text())["people_per_frame"]
    assert len(counts) == 4 and counts[0] >= 1 and counts[2:] == [0, 0]
    assert out.stat().st_size > 0


def test_predict_returns_image_and_keypoints():
    pytest.importorskip("onnxruntime")
    from deepgallery.apps.pose.entry import predict

    result = predict(image=str(EXAMPLES / "person.jpg"))
    assert Path(result["image"]).is_file() and len(result["keypoints"]["annotations"]) >= 1


def test_shipped_model_checksum_and_example_counts():
    from deepgallery.apps.pose import APP
    from deepgallery.core.assets import status

    assert status(APP.assets[0]) == "ok"
    counts = json.loads((EXAMPLES / "counts.json").read_text())["images"]
    for name, rec in counts.items():
        assert (EXAMPLES / name).is_file() and rec["people"] >= 1 and rec["source"]
        assert (EXAMPLES / name).stat().st_size < 200_000


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("make, extra, needle", [
    (lambda p: p.write_text("not a picture"), [], "not a readable image"),
    (None, [], "no such file"),
    (lambda p: p.write_bytes(b""), [], "file is empty"),
])
def test_bad_input_one_line_exit_2_no_output(tmp_path, run_cli, make, extra, needle):
    src, out = tmp_path / "photo.jpg", tmp_path / "out.png"
    if make:
        make(src)
    code, _, err = run_cli("run", "pose", src, "-o", out, *extra)
    assert code == 2
    assert needle in err and len(err.splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_missing_camera_is_one_clear_line(tmp_path, run_cli):
    out = tmp_path / "cam.mp4"
    code, _, err = run_cli("run", "pose", "--camera", "57", "-o", out)
    assert code == 2
    assert "camera 57 could not be opened" in err and len(err.splitlines()) == 1 and not out.exists()


def test_wrong_output_suffix_and_size_are_refused(tmp_path, run_cli):
    assert run_cli("run", "pose", EXAMPLES / "person.jpg", "-o", tmp_path / "x.mp4")[0] == 2
    assert run_cli("run", "pose", EXAMPLES / "person.jpg", "-o", tmp_path / "x.png", "--size", "100")[0] == 2
    assert run_cli("run", "pose")[0] == 2
    assert not list(tmp_path.iterdir())


def test_webcam_frames_are_annotated_and_written(tmp_path, monkeypatch, run_cli):
    """A stand-in for cv2.VideoCapture: three BGR frames (two with people, one empty), then the camera stops."""
    pytest.importorskip("onnxruntime")
    import cv2

    from deepgallery.core.media import read_image

    people = cv2.cvtColor(read_image(EXAMPLES / "basketball.jpg")[::2, ::2], cv2.COLOR_RGB2BGR)
    frames = [people, people, np.full_like(people, 90)]

    class FakeCamera:
        def __init__(self, index):
            self.left = list(frames)

        def isOpened(self):
            return True

        def read(self):
            return (True, self.left.pop(0)) if self.left else (False, None)

        def release(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", FakeCamera)
    out, js = tmp_path / "cam.mp4", tmp_path / "cam.json"
    code, said, err = run_cli("run", "pose", "--camera", "0", "--frames", "10", "-o", out, "--json", js)
    assert code == 0
    assert "frame 2: no person found" in said and "stopped after 3 frames" in err
    assert json.loads(js.read_text())["people_per_frame"][2] == 0 and out.stat().st_size > 0


@pytest.mark.usefixtures("one_torch_thread")
def test_shipped_paf_checkpoint_finds_unseen_stick_people():
    """The paper's pipeline end to end: PAFNet maps → PAF line integral → greedy matching → people."""
    from deepgallery.apps.pose.bench import synthetic_people_found
    from deepgallery.apps.pose.infer import PAFDetector

    found, pck = synthetic_people_found(PAFDetector.from_checkpoint().detect, images=10, seed=123)
    assert found >= 0.7 and pck >= 0.6


def test_flat_heatmaps_keep_a_bounded_number_of_candidates():
    """An untrained network gives flat maps where every pixel is a local maximum; grouping must stay small."""
    from deepgallery.apps.pose.grouping import GroupingConfig, find_peaks

    flat = np.full((2, 64, 64), 0.5, np.float32)
    peaks = find_peaks(flat, threshold=0.1, max_candidates=GroupingConfig().max_candidates)
    assert [len(p) for p in peaks] == [64, 64]


# ------------------------------------------------------------------- devices, resume, several processes


def test_the_shipped_paf_network_loads_beside_the_model():
    import torch

    from deepgallery.apps.pose import APP
    from deepgallery.apps.pose.model import PAFNet, load

    model, config = load()
    assert isinstance(model, PAFNet) and not model.training and config["data"]["size"] == 96
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the fp16 file is cast back
    again, _ = load(APP.checkpoint("paf_synthetic"))
    first, second = model.state_dict(), again.state_dict()
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


_TINY = ["--synthetic", "4", "--size", "64", "--batch", "4", "--lr", "3e-3", "--seed", "3"]


@pytest.mark.usefixtures("one_torch_thread")
def test_train_resume_and_run_on_the_cpu_device(tmp_path, run_cli):
    from deepgallery.core import checkpoint
    from deepgallery.core.media import save_image

    out = tmp_path / "paf"
    code, text, _ = run_cli("train", "pose", *_TINY, "--steps", "2", "--out", out, "--device", "cpu")
    assert code == 0 and "on cpu" in text
    assert checkpoint.load(out)[2]["step"] == 2
    code, text, _ = run_cli("train", "pose", *_TINY, "--steps", "3", "--out", out, "--device", "cpu", "--resume")
    assert code == 0 and f"resumed from {out} at step 2" in text
    assert checkpoint.load(out)[2]["step"] == 3
    code, _, err = run_cli("train", "pose", *_TINY, "--steps", "4", "--out", out, "--net", "paper", "--resume")
    assert code == 2 and "model=" in err and len(err.splitlines()) == 1  # another network: refused, not a traceback
    image = tmp_path / "drawing.png"
    save_image(image, np.full((64, 64, 3), 128, np.uint8))
    code, text, _ = run_cli("run", "pose", image, "--model", "paf", "--checkpoint", out, "--device", "cpu",
                            "-o", tmp_path / "out.png")
    assert code == 0 and "found" in text and (tmp_path / "out.png").is_file()


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_two_processes_train_the_same_network_as_one(tmp_path, run_cli, torchrun_cli):
    """`torchrun --nproc_per_node 2`: each gloo process takes half of every batch of 4 images, DDP averages the
    gradients, so the weights after two steps match a single process trained on the whole batches."""
    from deepgallery.core import checkpoint

    flags = [*_TINY, "--steps", "2", "--save-every", "2", "--device", "cpu"]
    code, _, err = run_cli("train", "pose", *flags, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, "train", "pose", *flags, "--out", tmp_path / "two", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("images with people") == 1  # only rank 0 speaks
    one, _, meta_one = checkpoint.load(tmp_path / "one")
    two, _, meta_two = checkpoint.load(tmp_path / "two")
    assert meta_one["step"] == meta_two["step"] == 2
    assert one.keys() == two.keys()
    worst = max(float((one[k] - two[k]).abs().max()) for k in one)
    assert worst < 2e-5, worst  # float32 sums in another order; Adam steps lr · sign(g) early on
    assert abs(meta_one["loss"] - meta_two["loss"]) < 1e-5 * max(1.0, abs(meta_one["loss"]))
