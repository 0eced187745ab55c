"""Render textspot's measured.json as the README's table (all resolutions, paper and peer columns).

    deepgallery bench textspot --save && python tools/textspot_readme.py

`bench/update_readmes.py` writes a one-column table for every app; textspot's numbers come per resolution and
beside the old settings, so this writes its measured block itself (`--check` exits 1 when it is stale).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "deepgallery" / "apps" / "textspot"


def _load_caveat(load, cores) -> str:
    """Why wall-clock factors may be low: only said when other jobs were running (load above the core count / 2)."""
    if load is None or cores is None or load <= cores / 2:
        return " (a quiet machine: the wall-clock factors are what a user gets)"
    return (" (other jobs were running: the wall-clock realtime factors are depressed by that much; the CPU-time "
            "ones and the old-vs-new ratio are not)")


def _f(m: dict, key: str, digits: int = 3) -> str:
    v = m.get(key)
    return "—" if v is None else f"{v:.{digits}f}"


def table(measured: dict) -> str:
    m, c = measured["metrics"], measured["config"]
    res = ("", "_720p", "_1080p")
    videos = c.get("videos", {})
    d1080 = c.get("1080p", {})
    lines = [
        f"Measured by `deepgallery bench textspot{' --quick' if measured.get('quick') else ''} --save` on "
        f"{measured.get('date', '?')} ({measured.get('machine', '?')}, "
        f"{'`--quick`' if measured.get('quick') else 'full'} budget, {measured.get('seconds', '?')} s): generated "
        f"videos of {c.get('seconds_each', '?'):g} s — {videos.get('360p', '?')} at 640×360, "
        f"{videos.get('720p', '?')} at 1280×720 and {videos.get('1080p', '?')} at 1920×1080 (the HD ones with a "
        f"scrolling ticker and two scene cuts); {c.get('word_crops', '?')} word crops. Load average "
        f"{c.get('load_average_at_start', '?')} on the {c.get('cores', '?')} cores when the bench started"
        + _load_caveat(c.get("load_average_at_start"), c.get("cores")) + ".",
        "",
        "| metric | paper (Jaderberg et al. 2016) | 640×360 | 1280×720 | 1920×1080 |",
        "|---|---|---|---|---|",
        "| `word_recall` (per on-screen occurrence, ≥ 16 px) | not reported in this form | "
        + " | ".join(_f(m, f"word_recall{r}") for r in res) + " |",
        "| `word_precision` (indexed word tokens) | not reported in this form | "
        + " | ".join(_f(m, f"word_precision{r}") for r in res) + " |",
        "| `first_hit_in_interval` (first hit ≤ 0.5 s after the word appears) | — | "
        + " | ".join(_f(m, f"first_hit_in_interval{r}") for r in res) + " |",
        "| `realtime_factor` (video s per wall s, this loaded machine) | — | "
        + " | ".join(_f(m, f"realtime_factor{r}", 2) for r in res) + " |",
        "| `realtime_factor_cpu` (video s per CPU s per core, incl. ffmpeg: an idle 2-core machine) | — | "
        + " | ".join(_f(m, f"realtime_factor_cpu{r}", 2) for r in res) + " |",
        "",
        "| 1920×1080, same video, same run | old settings (`--legacy`) | today's defaults |",
        "|---|---|---|",
        f"| speed (wall; CPU time) | 1× | {_f(m, 'speedup_1080p_vs_old_settings', 2)}× faster; "
        f"{_f(m, 'cpu_speedup_1080p_vs_old_settings', 2)}× less CPU |",
        f"| `word_recall_1080p` | {_f(m, 'word_recall_1080p_old_settings')} | "
        f"{_f(m, 'word_recall_1080p')} (all 1080p videos) |",
        f"| `first_hit_in_interval_1080p` | {_f(m, 'first_hit_in_interval_1080p_old_settings')} | "
        f"{_f(m, 'first_hit_in_interval_1080p')} |",
        "",
        "| recogniser, same synthetic crops of the 200 dictionary words | paper (DICT-90k, real data) | "
        "peer: rapidocr (PP-OCR) | ours: DICT-200 CNN |",
        "|---|---|---|---|",
        f"| word accuracy | IC03 93.1 %, SVT 80.7 %, IC13 90.8 % (no lexicon; not measured here: no real word "
        f"data offline) | `rapidocr_word_accuracy` {_f(m, 'rapidocr_word_accuracy')} | "
        f"`jaderberg_word_accuracy` {_f(m, 'jaderberg_word_accuracy')} |",
    ]
    if d1080:
        lines += ["", f"Where the 1080p time went (wall s, this run): decoding wait {d1080.get('decode_wait_s')}, "
                  f"detection {d1080.get('detect_s')}, recognition {d1080.get('recognise_s')} of "
                  f"{d1080.get('wall_s')} s for {d1080.get('video_s')} s of video; {d1080.get('frames_read')} of "
                  f"{d1080.get('frames_sampled')} sampled frames read."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's block is stale")
    args = parser.parse_args(argv)
    measured = json.loads((APP / "measured.json").read_text(encoding="utf-8"))
    readme = APP / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = re.sub(r"(<!-- measured:begin -->\n).*?(<!-- measured:end -->)",
                 lambda mm: mm.group(1) + table(measured) + "\n" + mm.group(2), text, flags=re.S)
    if args.check:
        return int(new != text)
    readme.write_text(new, encoding="utf-8")
    print(f"updated {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
