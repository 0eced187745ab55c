"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) read offline from its IDX files, as the Debian package
``dataset-fashion-mnist`` installs them (or any folder named by ``DEEPGALLERY_FASHION_MNIST``).

Several apps stand it in for data that cannot be had offline (plankton: rotated objects; superres: 7×7 → 28×28).
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from .errors import UserError

FASHION_DIR = Path(os.environ.get("DEEPGALLERY_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
FASHION_HINT = ("Fashion-MNIST is not installed: `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or set "
                "DEEPGALLERY_FASHION_MNIST to a folder with its four IDX files")


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (the MNIST format, optionally gzipped): big-endian header of magic (0, 0, type, dims), the
    dims, then the array. Only unsigned bytes (type 0x08) occur in (Fashion-)MNIST."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise UserError(f"{path}: not an IDX file of unsigned bytes")
    dims = raw[3]
    shape = struct.unpack(f">{dims}I", raw[4:4 + 4 * dims])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise UserError(f"{path}: IDX data is truncated ({data.size} of {int(np.prod(shape))} bytes)")
    return data.reshape(shape)


def available(folder: str | Path | None = None) -> bool:
    """True when the four IDX files (gzipped or not) are in `folder` (default FASHION_DIR)."""
    folder = Path(folder) if folder else FASHION_DIR
    stems = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return all((folder / s).is_file() or (folder / f"{s}.gz").is_file() for s in stems)


def fashion_mnist(split: str, folder: str | Path | None = None, hint: str = "") -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) uint8) of the 'train' (60000) or 't10k' (10000) split; `hint` is
    added to the message when the files are missing (e.g. how to train on your own data instead)."""
    if split not in ("train", "t10k"):
        raise UserError(f"unknown Fashion-MNIST split {split!r}; choose train or t10k")
    folder = Path(folder) if folder else FASHION_DIR

    def find(stem: str) -> Path:
        for name in (f"{stem}.gz", stem):
            if (folder / name).is_file():
                return folder / name
        raise UserError(FASHION_HINT + (f", {hint}" if hint else ""))

    return read_idx(find(f"{split}-images-idx3-ubyte")), read_idx(find(f"{split}-labels-idx1-ubyte"))
