"""Benchmark viscoelastic: `python bench/viscoelastic.py [--quick] [--save]`.

On held-out parameters -- headline: the 3-D finite-fault surrogate (vertical strike-slip rectangle in an elastic
layer over a Maxwell half-space) against the wavenumber/Talbot/Hankel solver of layered3d.py (+ Okada 1985 on both
sides), whose own error against a high-accuracy reference is measured too; secondary (suffixes _2d,
_savage_prescott, _cycle): the 2-D three-layer model, and the single-layer event and cycle surrogates -- the
relative RMSE, and the speedup in points per second of the network over the solver
(same batch, same run, both vectorised, one CPU thread each, process CPU time), beside a linearly interpolated
lookup table of solver values as the classical peer (2-D models). The same as
`deepgallery bench viscoelastic [--quick] [--save]`.
"""

from __future__ import annotations

import sys

from deepgallery.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "viscoelastic", *sys.argv[1:]]))
