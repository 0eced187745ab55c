"""Make superres's built-in examples: Fashion-MNIST *test* images (the model never trained on them), 28×28 PNG.

    python tools/superres_examples.py        # writes deepgallery/apps/superres/examples/*.png

`run` shrinks each to the model's 7×7 input, so the grid's first column is the truth the samples are compared with.
"""

from pathlib import Path

from PIL import Image

from deepgallery.core.fashion_mnist import FASHION_CLASSES, fashion_mnist

OUT = Path(__file__).resolve().parent.parent / "deepgallery" / "apps" / "superres" / "examples"
PICKS = {"Ankle boot": 0, "Trouser": 0, "Bag": 1, "Sandal": 0}  # class -> which of its test images (in order)


def main() -> None:
    images, labels = fashion_mnist("t10k")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, nth in PICKS.items():
        index = [i for i, y in enumerate(labels) if y == FASHION_CLASSES.index(name)][nth]
        path = OUT / f"{name.lower().replace(' ', '-')}-t10k{index:05d}.png"
        Image.fromarray(images[index]).save(path, optimize=True)
        print(path, path.stat().st_size)


if __name__ == "__main__":
    main()
