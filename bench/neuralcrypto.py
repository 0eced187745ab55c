"""Benchmark neuralcrypto as the paper evaluates it: `python bench/neuralcrypto.py [--quick] [--save]`.

Trains several independent Alice/Bob/Eve trios, retrains fresh Eves against each frozen Alice/Bob pair,
and prints seeds, seeds_succeeded, bob_bits_wrong, eve_bits_wrong and seconds_to_converge. The same as
`deepgallery bench neuralcrypto [--quick] [--save]`.
"""

from __future__ import annotations

import sys

from deepgallery.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "neuralcrypto", *sys.argv[1:]]))
