"""Cut the lower faces lipnet's renderer speaks with: every real face photo available offline (the photo corpus and
one group photo), its MediaPipe lip landmarks stored beside a small JPEG crop of mouth, nose and chin.

    python tools/lipnet_faces.py        # writes deepgallery/apps/lipnet/faces/{NAME.jpg, faces.json}
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from deepgallery.apps.lipnet.face import (
    INNER_LEFT,
    INNER_RIGHT,
    LEFT_CORNER,
    LOWER_INNER,
    LOWER_OUTER,
    RIGHT_CORNER,
    UPPER_INNER,
    UPPER_OUTER,
    FaceMesh,
)
from deepgallery.core.media import read_image

OUT = Path(__file__).resolve().parents[1] / "deepgallery" / "apps" / "lipnet" / "faces"
SOURCES = {  # name -> (photo, where it comes from)
    "astronaut": ("/work/main/.venv/lib/python3.11/site-packages/skimage/data/astronaut.png",
                  "scikit-image data: astronaut.png (Eileen Collins, NASA, public domain)"),
    "hopper": ("/work/main/.venv/lib/python3.11/site-packages/matplotlib/mpl-data/sample_data/grace_hopper.jpg",
               "matplotlib sample data: grace_hopper.jpg (US Navy, public domain)"),
    "group": ("deepgallery/apps/pose/examples/group5.jpg", "the pose app's group5.jpg example (one face found)"),
}
LIPS = [LEFT_CORNER, *UPPER_OUTER, RIGHT_CORNER, *LOWER_OUTER, INNER_LEFT, *UPPER_INNER, INNER_RIGHT, *LOWER_INNER]
WIDTH = 72  # mouth corner distance in the stored crop, pixels


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    record = {"landmark_order": "outer: left corner, upper 9, right corner, lower 9; inner: the same", "faces": {}}
    with FaceMesh(video=False) as mesh:
        for name, (path, source) in SOURCES.items():
            rgb = read_image(path)
            pts = mesh(rgb)
            assert pts is not None, path
            scale = WIDTH / np.linalg.norm(pts[RIGHT_CORNER] - pts[LEFT_CORNER])
            small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            centre = (pts[LEFT_CORNER] + pts[RIGHT_CORNER]) / 2 * scale
            x0, y0 = int(centre[0] - 100), int(centre[1] - 70)
            crop = small[max(0, y0):y0 + 140, max(0, x0):x0 + 200]
            lips = pts[LIPS] * scale - [max(0, x0), max(0, y0)]
            cv2.imwrite(str(OUT / f"{name}.jpg"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
            record["faces"][name] = {"source": source, "lips": np.round(lips, 2).tolist()}
    (OUT / "faces.json").write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
