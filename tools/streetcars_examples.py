"""Make streetcars' built-in example photos (deepgallery/apps/streetcars/examples/) from photos that installed
packages ship: real street scenes with vehicles, downscaled to at most 640 px and re-encoded (JPEG q82).

    apt-get install opencv-doc darknet && pip install scikit-image
    python tools/streetcars_examples.py

Sources and licences are written to examples/sources.json beside the photos.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "deepgallery" / "apps" / "streetcars" / "examples"


def sources() -> dict[str, tuple[Path, str]]:
    import skimage

    opencv = Path("/usr/share/doc/opencv-doc/examples")
    return {
        "red-car.jpg": (opencv / "text/scenetext06.jpg", "Debian opencv-doc 4.6.0 (OpenCV samples, Apache-2.0)"),
        "suv.jpg": (opencv / "text/scenetext01.jpg", "Debian opencv-doc 4.6.0 (OpenCV samples, Apache-2.0)"),
        "pickup.jpg": (Path("/usr/share/darknet/data/dog.jpg"), "Debian darknet (darknet's licence: GPL-3+ or MIT "
                                                                "or WTFPL)"),
        "motorcycle.jpg": (Path(skimage.__file__).parent / "data" / "motorcycle_left.png",
                           "scikit-image data.stereo_motorcycle() (Middlebury 2014 stereo benchmark, "
                           "Scharstein et al., as distributed with scikit-image)"),
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    record = {}
    for name, (src, licence) in sources().items():
        im = Image.open(src).convert("RGB")
        im.thumbnail((640, 640), Image.Resampling.LANCZOS)
        im.save(OUT / name, quality=82, optimize=True)
        record[name] = {"source": str(src), "licence": licence, "size": list(im.size)}
        print(f"{OUT / name}: {(OUT / name).stat().st_size // 1000} kB")
    (OUT / "sources.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
