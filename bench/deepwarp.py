"""Numbers for `deepwarp`: gaze error by a validated iris localiser, MediaPipe's reading beside it, speed.

    python bench/deepwarp.py [--quick]     # prints the metrics of `deepgallery bench deepwarp` as JSON

No published gaze-redirection network ships offline, so there is no peer network. What the bench
compares against instead is ground truth: the same irises moved by exactly the requested offset
(`deepgallery/apps/deepwarp/bench.py: known_shift`) and procedural eyes re-rendered at the requested gaze
(`render_check`); on those it reports the instrument's own error (`instrument_error_deg`,
`instrument_error_renders_deg`) and MediaPipe's (`instrument_error_mediapipe_deg`).
"""

from __future__ import annotations

import argparse
import json

from deepgallery.apps.deepwarp.bench import bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two frames, eight angles")
    print(json.dumps(bench(parser.parse_args().quick)["metrics"], indent=2))
