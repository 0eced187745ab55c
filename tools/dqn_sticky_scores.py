"""Measure the shipped dqn agents' sticky-action scores alone, without the bench's speed runs.

    python tools/dqn_sticky_scores.py --json /tmp/dqn-sticky.json            # 30 games each (the full bench's count)
    python tools/dqn_sticky_scores.py --quick --json /tmp/dqn-sticky.json    # 2 games each (the --quick count)

Same code path as `deepgallery bench dqn` (`bench.sticky_scores`, which `bench.bench` also calls), so the numbers
are the ones the whole bench would report; the record has the shape `deepgallery bench dqn --json` writes, so
`tools/dqn_merge_metrics.py` can merge it into measured.json. Scores do not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone

from deepgallery.apps.dqn.bench import sticky_scores
from deepgallery.core.atomic import write_text


def measure(quick: bool) -> dict:
    start = time.perf_counter()
    result = sticky_scores(quick)
    return {"app": "dqn", "metrics": result["metrics"], "config": result["config"], "quick": quick,
            "seconds": round(time.perf_counter() - start, 1),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
                       f"{result['device']}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 games per agent instead of 30")
    parser.add_argument("--json", metavar="PATH", required=True, help="where to write the record")
    args = parser.parse_args(argv)
    record = measure(args.quick)
    write_text(args.json, json.dumps(record, indent=2) + "\n")
    for key, value in record["metrics"].items():
        print(f"{key}  {value:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
