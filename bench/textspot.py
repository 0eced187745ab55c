"""Benchmark textspot: `python bench/textspot.py [--quick] [--save]`.

Generates test videos (real photos with appearing/moving words and their ground truth), indexes them at
default settings and prints word_recall, word_precision (words >= 16 px), realtime_factor, and the word
accuracy of the paper's DICT recogniser vs rapidocr on the same synthetic crops. The same as
`deepgallery bench textspot [--quick] [--save]`.
"""

from __future__ import annotations

import sys

from deepgallery.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "textspot", *sys.argv[1:]]))
