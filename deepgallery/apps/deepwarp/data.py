"""A loader for a public gaze dataset: the Columbia Gaze Data Set (Smith et al. 2013), for users who have it.

Columbia Gaze holds 5,880 photos of 56 people; each file name says the head pose and the gaze, e.g.
``0003/0003_2m_-15P_10V_-5H.jpg`` = head pose −15°, vertical gaze +10°, horizontal gaze −5°. Two photos
of one person at one head pose differ only in gaze — exactly the pairs the paper trains on (Sec. 4.1,
where the authors recorded their own such set). Eyes are located with the face mesh and cropped like
at run time; each pair's redirection is the difference of the labelled gazes. The horizontal label is
taken as the yaw sign of `geometry.py` (towards the image's right); pass ``yaw_sign=-1`` if your copy
uses the opposite convention. Download: https://www.cs.columbia.edu/CAVE/databases/columbia_gaze/
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from ...core.errors import UserError
from ...core.runtime import progress

NAME = re.compile(r"^(?P<subject>\d+)_\d+m_(?P<pose>-?\d+)P_(?P<v>-?\d+)V_(?P<h>-?\d+)H\.(jpe?g|png)$", re.I)


def parse_name(name: str) -> tuple[str, int, float, float] | None:
    """'0003_2m_-15P_10V_-5H.jpg' → ('0003', -15, yaw -5.0, pitch 10.0); None for other files."""
    m = NAME.match(name)
    if not m:
        return None
    return m["subject"], int(m["pose"]), float(m["h"]), float(m["v"])


class ColumbiaGazePairs:
    """Eye crops grouped by (subject, head pose, eye); pairs inside a group differ only in gaze."""

    def __init__(self, root: str | Path, max_side: int = 1200, yaw_sign: float = 1.0):
        from ...core.media import read_image, resize_max_side
        from .face import FaceMesh, crop_eye

        files = [(p, parse_name(p.name)) for p in sorted(Path(root).rglob("*")) if p.is_file()]
        files = [(p, info) for p, info in files if info is not None]
        if not files:
            raise UserError(f"{root}: no Columbia Gaze images (names like 0001_2m_0P_10V_5H.jpg) found")
        mesh = FaceMesh(static=True, max_faces=1)
        groups: dict[tuple, list[tuple[np.ndarray, tuple[float, float]]]] = defaultdict(list)
        for path, (subject, pose, yaw, pitch) in progress(files, desc="cropping eyes"):
            rgb = resize_max_side(read_image(path), max_side)
            faces = mesh.faces(rgb)
            if not faces:
                continue
            for eye_name, eye in faces[0].items():
                crop = (crop_eye(rgb, eye) * 255 + 0.5).astype(np.uint8)
                groups[(subject, pose, eye_name)].append((crop, (yaw_sign * yaw, pitch)))
        self.groups = [g for g in groups.values() if len(g) > 1]
        if not self.groups:
            raise UserError(f"{root}: no face with two or more gaze labels could be cropped")

    def batches(self, batch: int, seed: int, device):
        """Endless (source (B, 3, H, W), redirection (B, 2) degrees, target) batches."""
        rng = np.random.default_rng(seed)
        while True:
            xs, angles, ys = [], [], []
            for _ in range(batch):
                group = self.groups[rng.integers(len(self.groups))]
                i, j = rng.choice(len(group), 2, replace=False)
                xs.append(group[i][0])
                ys.append(group[j][0])
                angles.append(np.subtract(group[j][1], group[i][1]))
            to_t = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).float().div(255).to(device)  # noqa: E731
            yield to_t(xs), torch.tensor(np.array(angles), dtype=torch.float32, device=device), to_t(ys)
