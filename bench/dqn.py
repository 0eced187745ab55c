"""Thin wrapper: `python bench/dqn.py [--quick]` = `deepgallery bench dqn [--quick]` (throughput vs SB3, scores)."""

import sys

from deepgallery.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "dqn", *sys.argv[1:]]))
