"""Numbers for `deepwarp`: the network and the geometric iris-shift reference under the same gaze metric.

    python bench/deepwarp.py [--quick]     # prints the metrics of `deepgallery bench deepwarp` as JSON

The "peer" here is not a published network (none ships offline) but the geometric reference of
`deepgallery/apps/deepwarp/bench.py`: each iris disc moved rigidly by the eyeball model's offset. It shows
how much of an ideal iris move the MediaPipe-landmark metric can see on the same frames.
"""

from __future__ import annotations

import argparse
import json

from deepgallery.apps.deepwarp.bench import run_bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two frames, eight angles")
    print(json.dumps(run_bench(parser.parse_args().quick)["metrics"], indent=2))
