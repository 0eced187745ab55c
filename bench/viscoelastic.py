"""Benchmark viscoelastic: `python bench/viscoelastic.py [--quick] [--save]`.

On held-out parameters, for the single-event surrogate and the earthquake-cycle surrogate: the relative
RMSE against the image-series solver, and the speedup in points per second of the network over the solver
(same batch, same run, both vectorised, one CPU thread each), beside a linearly interpolated lookup table
of solver values as the classical peer. The same as `deepgallery bench viscoelastic [--quick] [--save]`.
"""

from __future__ import annotations

import sys

from deepgallery.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "viscoelastic", *sys.argv[1:]]))
