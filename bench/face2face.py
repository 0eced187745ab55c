"""`python bench/face2face.py [--quick]`: the same as `deepgallery bench face2face`, printed as JSON.

Speed of the full reenactment pipeline at 640×480 (wall clock and CPU ms per frame, Poisson / exact Poisson /
feather blending) and the landmark and ground-truth expression errors on a synthetic actor driving a target
video; see ``deepgallery/apps/face2face/bench.py`` for what each number means.
"""

from __future__ import annotations

import argparse
import json

from deepgallery.apps.face2face.bench import bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="48 frames instead of 96")
    print(json.dumps(bench(quick=parser.parse_args().quick), indent=2))
