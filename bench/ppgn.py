"""PPGN-x vs activation maximisation on 10 ImageNet classes (same as `deepgallery bench ppgn [--quick]`)."""

from __future__ import annotations

import argparse
import json

from deepgallery.apps.ppgn.bench import bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 samples, 30 steps, 96 px per class (< 5 min)")
    result = bench(parser.parse_args().quick)
    for key, value in result["metrics"].items():
        print(f"{key:<28} {value}")
    print(json.dumps(result["config"], indent=2))
