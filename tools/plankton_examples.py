"""Write the plankton app's built-in examples: four Fashion-MNIST *test* images (never trained on), each turned
to a random angle and cropped like an NDSB image (dark object on white), as small PNGs.

    python tools/plankton_examples.py        # needs the Debian package dataset-fashion-mnist
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepgallery.apps.plankton.data import FASHION_CLASSES, fashion_mnist, rotated_item
from deepgallery.core.media import save_image

OUT = Path(__file__).resolve().parents[1] / "deepgallery" / "apps" / "plankton" / "examples"
PICKS = {"Trouser": 130.0, "Sneaker": 215.0, "Bag": 60.0, "Dress": 300.0}  # class -> angle in degrees


def main() -> None:
    images, labels = fashion_mnist("t10k")
    for name, angle in PICKS.items():
        k = FASHION_CLASSES.index(name)
        i = int(np.nonzero(labels == k)[0][7])
        grey = rotated_item(images[i], angle, 1.5)
        slug = name.lower().replace(" ", "-")
        path = save_image(OUT / f"{slug}-t10k{i:05d}-{int(angle)}deg.png", np.repeat(grey[..., None], 3, axis=2))
        print(f"{path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
