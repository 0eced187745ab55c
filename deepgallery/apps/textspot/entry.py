"""CLI, demo and web hooks of textspot (the benchmark is in bench.py).

    deepgallery run textspot index VIDEO_OR_DIR... [--db PATH] [--backend rapidocr|tesseract|jaderberg] [--device D]
                                   [--workers N | --cluster tcp://host:8786] [--det-side PX] [--legacy]
    deepgallery run textspot search "london" [--format text|json|csv] [--out DIR]
    deepgallery train textspot [--rounds N] [--device D]      (or under torchrun: several processes)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from deepgallery.core.app import DemoItem
from deepgallery.core.errors import UserError, check_range

from .indexer import DECODERS
from .readers import BACKENDS, DET_SIDE


def add_run_args(parser: argparse.ArgumentParser) -> None:
    from deepgallery.core.runtime import add_device_arg

    from .indexer import default_db

    sub = parser.add_subparsers(dest="action", required=True, metavar="{index,search}")
    p = sub.add_parser("index", help="read the text in videos/images and add it to the index")
    p.add_argument("paths", nargs="+", metavar="VIDEO_OR_DIR", help="video or image files, or folders of them")
    p.add_argument("--db", type=Path, default=default_db(), help=f"index file (default: {default_db()})")
    p.add_argument("--backend", default="rapidocr", choices=BACKENDS,
                   help="text reader: rapidocr (PP-OCR, default), tesseract, or jaderberg (the paper's CNN, on "
                        "--device; the other two run on the CPU)")
    p.add_argument("--interval", type=float, default=0.5,
                   help="seconds between sampled frames, at most 1 (default 0.5)")
    p.add_argument("--min-confidence", type=float, default=0.5, help="drop readings below this (0..1)")
    p.add_argument("--force", action="store_true", help="re-read files even if unchanged")
    p.add_argument("--workers", type=int, default=0,
                   help="processes reading videos at once, one video each (default 0: one per core when there are "
                        "several files, through a local Dask cluster; 1: all in this process)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://host:8786) whose workers, on any number of machines, read "
                        "the videos (they need the files at the same paths); this process writes the index")
    p.add_argument("--det-side", type=int, default=DET_SIDE,
                   help=f"longer side in px of the copy of each frame the text detector sees; recognition reads the "
                        f"full-resolution frame (default {DET_SIDE}; 0: the old whole-frame reading at <= 1280 px)")
    p.add_argument("--decoder", default="select", choices=DECODERS,
                   help="select: ffmpeg converts and pipes only the sampled frames (default); imageio: every frame")
    p.add_argument("--no-reuse", action="store_true",
                   help="recognise every text box again on every read frame, even when it did not change")
    p.add_argument("--legacy", action="store_true",
                   help="the settings before the 1080p work: --det-side 0 --decoder imageio --no-reuse, frames "
                        "downscaled to 1280 px, words cut by the frame edge kept (slower; for comparison)")
    add_device_arg(p, why="the jaderberg backend's word CNN; rapidocr and tesseract run on the CPU")
    p = sub.add_parser("search", help="find the videos and moments where a word appears")
    p.add_argument("query", help="word(s) to find; prefixes and small typos match too")
    p.add_argument("--db", type=Path, default=default_db(), help=f"index file (default: {default_db()})")
    p.add_argument("--limit", type=int, default=20, help="most hits to show (default 20)")
    p.add_argument("--format", default="text", choices=("text", "json", "csv"), help="what to print")
    p.add_argument("--out", type=Path, default=Path("textspot-results"),
                   help="folder for results.html and the thumbnails (default: ./textspot-results)")


def run(args: argparse.Namespace) -> int:
    if args.action == "index":
        return _index(args)
    return _search(args)


def _open_store(db: Path, must_exist: bool):
    from .store import SQLiteStore

    if must_exist and not Path(db).expanduser().is_file():
        raise UserError(f"no index at {db}: build one first with `deepgallery run textspot index VIDEO_OR_DIR`")
    return SQLiteStore(db)


def _sample_config(args: argparse.Namespace):
    from .indexer import SampleConfig

    if args.legacy:
        return SampleConfig.legacy(interval=args.interval)
    return SampleConfig(interval=args.interval, decoder=args.decoder)


def _index(args: argparse.Namespace) -> int:
    from .archive import ReaderSettings, default_workers, index_archive
    from .indexer import find_inputs, index_paths
    from .readers import make_reader

    if not 0.0 <= args.min_confidence <= 1.0:
        raise UserError(f"--min-confidence must be in [0, 1], got {args.min_confidence}")
    check_range("--interval", args.interval, 0, allow_zero=False)
    if args.workers < 0:
        raise UserError(f"--workers must be 0 (one per core) or more, got {args.workers}")
    if args.det_side < 0:
        raise UserError(f"--det-side must be 0 (the old whole-frame reading) or a size in px, got {args.det_side}")
    det_side, reuse = (0, False) if args.legacy else (args.det_side, not args.no_reuse)
    cfg = _sample_config(args)
    workers = args.workers or default_workers(len(find_inputs(args.paths)[0]))
    problems: list[str] = []

    def log(message: str) -> None:
        problems.append(message.removeprefix("textspot: skipped "))
        if len(args.paths) > 1 or workers > 1 or args.cluster:  # several inputs: name each bad one as it comes
            print(message, file=sys.stderr, flush=True)

    if workers > 1 or args.cluster:
        import os

        threads = max(1, (os.cpu_count() or 1) // workers) if not args.cluster else 1
        settings = ReaderSettings(args.backend, args.min_confidence, det_side=det_side, reuse=reuse, threads=threads,
                                  device=args.device, sample=cfg)
        stats = index_archive(args.paths, args.db, settings, workers=workers, cluster=args.cluster, force=args.force,
                              log=log)
        store = _open_store(args.db, must_exist=False)
    else:
        reader = make_reader(args.backend, args.min_confidence, device=args.device, det_side=det_side, reuse=reuse)
        store = _open_store(args.db, must_exist=False)  # the file itself is created only when a video is written
        try:
            stats = index_paths(args.paths, store, reader, cfg, force=args.force, log=log)
        except BaseException:
            store.close()
            raise
    try:
        videos, occs = store.counts()
    finally:
        store.close()  # an index this run created and left empty is removed
    if stats.failed and not (stats.indexed or stats.skipped):
        raise UserError(problems[0] if len(problems) == 1 else f"none of the {len(problems)} inputs could be read")
    print(f"indexed {stats.indexed}, unchanged {stats.skipped}, failed {stats.failed}; "
          f"the index {args.db} holds {videos} files, {occs} text occurrences")
    return 1 if stats.failed else 0


def _search(args: argparse.Namespace) -> int:
    from . import report
    from .search import search, tokens

    if not tokens(args.query):
        raise UserError("empty query: give a word to search for, e.g. `deepgallery run textspot search london`")
    check_range("--limit", args.limit, 0, allow_zero=False)
    store = _open_store(args.db, must_exist=True)
    try:
        scored = search(store, args.query, args.limit)
    finally:
        store.close()
    thumbs = report.write_thumbnails(scored, args.out / "thumbs")
    records = report.rows(scored, thumbs)
    page = report.write_html(args.out / "results.html", args.query, records)
    if args.format == "json":
        print(report.as_json(args.query, records))
    elif args.format == "csv":
        sys.stdout.write(report.as_csv(records))
    else:
        print(report.as_text(records))
        print(f"results page: {page}")
    return 0


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from deepgallery.core.config import add_config_args
    from deepgallery.core.runtime import add_device_arg, add_precision_arg

    from .model import user_checkpoint
    from .train import TrainConfig

    add_config_args(parser, TrainConfig)  # --rounds --samples-per-round ... --batch-size --lr --seed --threads
    parser.add_argument("--out", type=Path, default=user_checkpoint(),
                        help=f"checkpoint path without suffix; an existing one is resumed (default {user_checkpoint()},"
                             " which the jaderberg backend then uses instead of the shipped one)")
    add_device_arg(parser)
    add_precision_arg(parser)


def train(args: argparse.Namespace) -> int:
    from deepgallery.core.distributed import run_training

    from .train import TrainConfig
    from .train import train as train_loop

    def report(result) -> None:
        print(f"val word accuracy {result['val_accuracy']:.3f} on {result['words']} words; checkpoint {args.out}")

    return run_training(args, TrainConfig, lambda cfg, ctx: train_loop(cfg, out=args.out, ctx=ctx,
                                                                        precision=args.precision),
                        app="textspot", report=report)


def predict(video: str, query: str = "london") -> dict:
    """Index one video/image into a temporary index and search it (the web gallery's call)."""
    from . import report
    from .indexer import SampleConfig, index_paths
    from .readers import make_reader
    from .search import search, tokens
    from .store import SQLiteStore

    if not tokens(query or ""):
        raise UserError("empty query: type a word to search for, e.g. london")
    messages: list[str] = []
    out = Path(tempfile.mkdtemp(prefix="textspot-"))
    store = SQLiteStore(out / "index.sqlite")
    try:
        stats = index_paths([video], store, make_reader("rapidocr"), SampleConfig(), log=messages.append)
        if stats.failed:
            raise UserError(messages[0].removeprefix("textspot: skipped ") if messages else f"{video}: unreadable")
        scored = search(store, query, limit=20)
        lines = store.conn.execute("SELECT start, text FROM occurrences ORDER BY start").fetchall()
    except BaseException:
        store.close()
        shutil.rmtree(out, ignore_errors=True)  # no partial output for bad input
        raise
    store.close()
    thumbs = report.write_thumbnails(scored, out / "thumbs")
    # the browser sees file names, never this server's paths: a table of the hits (the video by its name), and
    # their frames as a gallery captioned with time and text
    records = report.rows(scored, thumbs)
    hits = [{k: (Path(v).name if k == "video" else v) for k, v in r.items() if k not in ("thumbnail", "box")}
            for r in records]
    frames = [(Path(r["thumbnail"]), f"{r['time']}  {r['text']}") for r in records if r["thumbnail"]]
    listing = "\n".join(f"{t:7.1f} s  {text}" for t, text in lines) or "(no text found)"
    return {"hits": hits, "frames": frames, "thumbnail": thumbs[0] if thumbs and thumbs[0] else None,
            "lines": listing}


def demo(out_dir: Path) -> list[DemoItem]:
    """Generate a short video with words on real photos, index it, search "london", write the results page."""
    from . import report
    from .indexer import SampleConfig, index_paths
    from .readers import make_reader
    from .search import search
    from .store import SQLiteStore
    from .synth import VideoSpec, make_test_video

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / "news_clip.mp4"
    vocab = ("london", "bridge", "weather", "news", "market", "river", "station", "city")
    make_test_video(video, seed=3, spec=VideoSpec(seconds=8.0, words=6, small_prob=0.0), vocab=vocab,
                    first=("london",))
    db = out_dir / "index.sqlite"
    db.unlink(missing_ok=True)
    store = SQLiteStore(db)
    try:
        index_paths([str(video)], store, make_reader("rapidocr"), SampleConfig())
        query = "london"
        scored = search(store, query, limit=10)
        if not scored:
            query = store.vocabulary()[0] if store.vocabulary() else query
            scored = search(store, query, limit=10)
    finally:
        store.close()
    thumbs = report.write_thumbnails(scored, out_dir / "thumbs")
    records = report.rows(scored, thumbs)
    page = report.write_html(out_dir / "results.html", query, records)
    js = out_dir / "hits.json"
    js.write_text(report.as_json(query, records), encoding="utf-8")
    outputs = [video, *(t for t in thumbs[:2] if t), page, js]
    return [DemoItem(title=f"search “{query}” in a generated news clip", inputs={"video": str(video), "query": query},
                     outputs=outputs, text=report.as_text(records))]
