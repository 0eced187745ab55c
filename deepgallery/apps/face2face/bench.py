"""`deepgallery bench face2face`: speed of the full pipeline at 640×480 and how well the output shows the intended
expression.

Inputs (made here, see ``synthetic.py``): a 640×480 source actor (Grace Hopper's photo animated: talking, smiling,
surprised, with head roll/shift/zoom) and a 640×480 target video (Eileen Collins' photo with a different head motion,
no expression of its own). Frames are held in memory: file decoding/encoding is not timed.

* ``fps``: frames per second of the whole per-frame pipeline (track both faces, transfer, warp, mouth retrieval,
  Poisson blending) after a warm-up, wall clock on this shared 2-core CPU; ``cpu_ms_per_frame``: CPU time of this
  process per frame (all threads), which does not depend on how busy the machine is; ``fps_feather`` the same with
  alpha blending, ``fps_poisson_exact`` with the Poisson equation solved at full size.
* ``landmark_error``: the reenacted frame is run through Face Mesh afresh (photo mode); mean distance of its 468
  surface landmarks to the intended ones, divided by the inter-ocular distance (eye-corner centres), averaged over
  frames. ``landmark_error_floor``: the detector's disagreement with itself (photo mode on the untouched target
  frame vs the tracked landmarks), the lowest error reachable. ``landmark_error_unchanged``: the same for the
  target frame left as it was — how far the intended expression is from the target's own, i.e. what the
  reenactment had to move. ``*_lips``: the 40 lip points only. ``*_no_cavity``: with the mouth interior stretched
  (``MouthConfig(cavity=False)``, the retrieved mouth warped to the new lips as in the paper) instead of our
  teeth-keeping cavity.
* ``expression_error``: since the actor is synthetic, the *true* reenacted target is known: the target's own
  neutral landmarks deformed by the actor's expression controls (jaw, smile, brows; ``synthetic.deform``, in
  units of each face's inter-ocular distance) and posed by the target's head motion. Landmarks found on the output
  vs that truth, / IOD, averaged over frames; ``_unchanged`` for the target left as it was;
  ``_no_pose_removal`` for the ablation that adds the source's raw 2-D landmark motion (head motion included)
  onto the target instead of removing the head pose by Procrustes first.
"""

from __future__ import annotations

import time

import numpy as np


def _clips(n: int):
    """(source frames, target frames, ground-truth target landmarks): the target's own neutral face given the
    actor's expression controls (``synthetic.deform``) and posed by the target's head motion."""
    from dataclasses import replace

    from .mesh import FaceTracker
    from .synthetic import actor_script, load_photo, make_clip, posed, target_script

    tracker = FaceTracker(video=False)
    acting, moving = actor_script(n), target_script(n)
    source, _ = make_clip(load_photo("grace_hopper.jpg"), acting, tracker)
    photo = load_photo("astronaut.jpg")
    target, _ = make_clip(photo, moving, tracker)
    neutral = tracker(photo)
    truth = [posed(neutral, replace(m, jaw=a.jaw, smile=a.smile, brows=a.brows), photo.shape)
             for a, m in zip(acting, moving, strict=True)]
    return source, target, truth


def _run(source, target, blend: str, cavity: bool = True, pose_removal: bool = True):
    from .mouth import MouthConfig
    from .pipeline import Face2FaceConfig, Reenactor
    from .transfer import TransferConfig

    r = Reenactor(Face2FaceConfig(blend=blend, mouth_db=MouthConfig(cavity=cavity),
                                  transfer=TransferConfig(pose_removal=pose_removal)))
    r.step(source[0], target[0], 0)  # warm-up (graph start); also fixes the neutral frames
    results = []
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(1, len(source)):
        results.append(r.step(source[i], target[i], i))
    n = len(source) - 1
    return results, n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1000


def expression_errors(results, truth) -> dict[str, float]:
    """Landmarks found on the outputs (and on the untouched targets) vs the ground-truth reenacted target, / IOD."""
    from .mesh import N_SURFACE, FaceTracker, inter_ocular
    from .mouth import LIPS

    tracker = FaceTracker(video=False)
    out: dict[str, list[float]] = {"output": [], "unchanged": [], "output_lips": [], "unchanged_lips": []}
    for r, gt in zip(results, truth, strict=True):
        found = tracker(r.image)
        if found is None or r.target is None:
            continue
        iod = inter_ocular(gt)
        for key, lms in (("output", found), ("unchanged", r.target)):
            d = np.linalg.norm(lms[:N_SURFACE, :2] - gt[:N_SURFACE, :2], axis=1) / iod
            out[key].append(d.mean())
            out[key + "_lips"].append(d[list(LIPS)].mean())
    return {k: float(np.mean(v)) if v else float("nan") for k, v in out.items()}


def landmark_errors(results, targets=None) -> dict[str, float]:
    """Mean normalised landmark distance of the outputs (and of the unchanged targets) to the intended landmarks.

    With ``targets`` (the input target frames) also the *floor*: photo-mode landmarks of the untouched target
    frame vs the tracked ones the pipeline used — the detector's own disagreement, below which no output can go.
    """
    from .mesh import N_SURFACE, FaceTracker, inter_ocular
    from .mouth import LIPS

    tracker = FaceTracker(video=False)
    out = {"all": [], "lips": [], "all_unchanged": [], "lips_unchanged": [], "all_floor": [], "missed": 0}
    lips = list(LIPS)
    for i, r in enumerate(results):
        if r.intended is None:
            continue
        found = tracker(r.image)
        if found is None:
            out["missed"] += 1
            continue
        iod = inter_ocular(r.intended)
        for key, lms in (("", found), ("_unchanged", r.target)):
            d = np.linalg.norm(lms[:N_SURFACE, :2] - r.intended[:N_SURFACE, :2], axis=1) / iod
            out["all" + key].append(d.mean())
            out["lips" + key].append(d[lips].mean())
        again = tracker(targets[i]) if targets is not None else None
        if again is not None:
            d = np.linalg.norm(again[:N_SURFACE, :2] - r.target[:N_SURFACE, :2], axis=1) / iod
            out["all_floor"].append(d.mean())
    return {k: (float(np.mean(v)) if v else float("nan")) if isinstance(v, list) else v for k, v in out.items()}


def bench(quick: bool = False) -> dict:
    """The numbers of the module docstring: 48 frames with ``quick``, else 96. Runs on the CPU (MediaPipe and
    numpy; no PyTorch), so ``device`` is always "cpu"."""
    import os

    n = 48 if quick else 96
    load_before = os.getloadavg()[0]
    source, target, truth = _clips(n)
    results, fps, cpu_ms = _run(source, target, "poisson")
    _, fps_feather, cpu_feather = _run(source, target, "feather")
    _, fps_exact, cpu_exact = _run(source, target, "poisson-exact")
    err = landmark_errors(results, target[1:])
    stretched, _, _ = _run(source, target, "poisson", cavity=False)
    err_stretch = landmark_errors(stretched)
    naive, _, _ = _run(source, target, "poisson", pose_removal=False)
    expr, expr_naive = expression_errors(results, truth[1:]), expression_errors(naive, truth[1:])
    unchanged = sum(1 for r in results if r.message)
    metrics = {
        "fps": round(fps, 1),
        "cpu_ms_per_frame": round(cpu_ms, 1),
        "fps_feather": round(fps_feather, 1),
        "cpu_ms_per_frame_feather": round(cpu_feather, 1),
        "fps_poisson_exact": round(fps_exact, 1),
        "cpu_ms_per_frame_poisson_exact": round(cpu_exact, 1),
        "landmark_error": round(err["all"], 4),
        "landmark_error_unchanged": round(err["all_unchanged"], 4),
        "landmark_error_floor": round(err["all_floor"], 4),
        "landmark_error_lips": round(err["lips"], 4),
        "landmark_error_lips_unchanged": round(err["lips_unchanged"], 4),
        "landmark_error_no_cavity": round(err_stretch["all"], 4),
        "landmark_error_lips_no_cavity": round(err_stretch["lips"], 4),
        "expression_error": round(expr["output"], 4),
        "expression_error_unchanged": round(expr["unchanged"], 4),
        "expression_error_no_pose_removal": round(expr_naive["output"], 4),
        "expression_error_lips": round(expr["output_lips"], 4),
        "expression_error_lips_unchanged": round(expr["unchanged_lips"], 4),
        "expression_error_lips_no_pose_removal": round(expr_naive["output_lips"], 4),
        "frames_without_face": unchanged + err["missed"],
    }
    config = {"frames": n, "size": "640x480", "source": "grace_hopper.jpg animated (synthetic.actor_script)",
              "target": "astronaut.jpg with head motion (synthetic.target_script)", "blend": "poisson",
              "mouth": "retrieve + cavity", "smoothing": 0.4,
              "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)]}  # other jobs on the CPU
    return {"metrics": metrics, "config": config, "device": "cpu"}
