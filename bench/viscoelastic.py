"""Benchmark viscoelastic: `python bench/viscoelastic.py [--quick] [--save]`.

On held-out parameters -- headline: the three-layer surrogate (elastic upper crust, Maxwell lower crust,
Maxwell mantle) against the wavenumber/Talbot solver of layered.py, whose own error against a high-accuracy
reference is measured too; secondary (suffixes _savage_prescott, _cycle): the single-layer event and cycle
surrogates against the image-series solver -- the relative RMSE, and the speedup in points per second of the
network over the solver
(same batch, same run, both vectorised, one CPU thread each), beside a linearly interpolated lookup table
of solver values as the classical peer. The same as `deepgallery bench viscoelastic [--quick] [--save]`.
"""

from __future__ import annotations

import sys

from deepgallery.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "viscoelastic", *sys.argv[1:]]))
