"""Hooks for `deepgallery run|train|demo lipnet` and the web gallery (see core/app.py); the network is in model.py,
mouth tracking in face.py, decoding in text.py, the rendered data in render.py, GRID in grid.py, the benchmark
in bench.py."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ...core.app import DemoItem
from ...core.config import add_config_args, config_from_args
from ...core.errors import UserError
from . import APP

EXAMPLES = Path(__file__).resolve().parent / "examples"
MAX_FRAMES = 750  # 30 s at 25 fps: LipNet reads one sentence at a time
DECODERS = ("greedy", "beam", "grammar")


# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", nargs="?", help="a video of one face speaking (a 100x50 video is taken as mouth "
                                                 "crops already, as the examples are)")
    parser.add_argument("--say", help="instead of a video: render a mouth saying this GRID sentence and read it")
    parser.add_argument("--decoder", choices=DECODERS, default="grammar",
                        help="greedy best path, beam search, or beam search held to the GRID grammar (default)")
    parser.add_argument("--checkpoint", help="a trained checkpoint (NAME.safetensors + NAME.json); default: the "
                                             "shipped LipNet (`baseline2d`: the shipped 2-D ablation)")
    parser.add_argument("-o", "--out", help="write the transcript with per-character confidence as JSON here")
    parser.add_argument("--mouth", help="write the mouth crops the network read as a video here (.mp4 or .gif)")
    parser.add_argument("--verbose", action="store_true", help="show MediaPipe's native log lines")


def _reader(name: str | None):
    from .model import load, load_shipped

    if not name:
        return load_shipped("lipnet")
    return load_shipped(name) if name in APP.checkpoints else load(name)


def mouth_crops(video: Path, verbose: bool = False) -> np.ndarray:
    """(T, 50, 100, 3) uint8 mouth crops of a video file (or the video itself when it is 100x50 already)."""
    from ...core.media import read_video
    from ...core.runtime import quiet_native_logs
    from .face import CROP_H, CROP_W, track_mouth

    frames = []
    for i, _, frame in read_video(video):
        if i >= MAX_FRAMES:
            raise UserError(f"{video}: longer than {MAX_FRAMES} frames; LipNet reads one sentence (cut the clip)")
        frames.append(frame)
    if len(frames) < 8:
        raise UserError(f"{video}: only {len(frames)} frames; give a clip of a spoken sentence (GRID: 75 frames)")
    if frames[0].shape[:2] == (CROP_H, CROP_W):
        return np.stack(frames)
    with quiet_native_logs(verbose):
        crops, _ = track_mouth(frames, str(video))
    return crops


def read_lips(crops: np.ndarray, decoder: str = "grammar", checkpoint: str | None = None) -> dict[str, Any]:
    """Transcript and per-character confidence of one clip of mouth crops."""
    from .text import beam_search, greedy

    reader = _reader(checkpoint)
    log_probs = reader.log_probs(crops[None])[0]  # (T, 28)
    best, conf = greedy(log_probs)
    if decoder == "greedy":
        text = best
    else:
        text = beam_search(log_probs, beam=16, grammar=decoder == "grammar")
    return {"transcript": text, "decoder": decoder, "best_path": best,
            "confidence": [{"char": c, "p": round(p, 3)} for c, p in zip(best, conf, strict=True)]}


def _check_out(path: str | None, suffixes: tuple[str, ...], what: str) -> None:
    if path and Path(path).suffix.lower() not in suffixes:
        raise UserError(f"{path}: {what} is written as {' or '.join(suffixes)}; give a name ending in one")


def run(args: argparse.Namespace) -> int:
    _check_out(args.out, (".json",), "the transcript")
    _check_out(args.mouth, (".mp4", ".gif"), "the mouth video")
    if args.say:
        crops = _render_sentence(args.say)
    elif args.video:
        src = Path(args.video).expanduser()
        if not src.is_file():
            raise UserError(f"{src}: no such video file")
        crops = mouth_crops(src, args.verbose)
    else:
        raise UserError("give a video: deepgallery run lipnet clip.mp4 (or --say \"bin blue at f two now\")")
    result = read_lips(crops, args.decoder, args.checkpoint)
    print(result["transcript"])
    print("per character: " + " ".join(f"{c['char'] if c['char'] != ' ' else '_'}:{c['p']:.2f}"
                                       for c in result["confidence"]), file=sys.stderr)
    if args.out:
        from ...core.atomic import write_text

        write_text(Path(args.out), json.dumps(result, indent=1))
        print(f"transcript: {args.out}", file=sys.stderr)
    if args.mouth:
        from ...core.media import write_video

        print(f"mouth crops: {write_video(args.mouth, list(crops))}", file=sys.stderr)
    return 0


def _render_sentence(sentence: str, speaker: int = 0, seed: int = 1) -> np.ndarray:
    from .render import UNSEEN_FACES, render_clip, speakers
    from .text import GRAMMAR, SLOTS, in_grammar, unknown_characters

    words = sentence.lower().split()
    bad = unknown_characters(" ".join(words))
    if bad:
        raise UserError(f"--say: characters the model cannot read: {bad!r} (letters and spaces only)")
    if not in_grammar(words):
        raise UserError("--say takes a GRID sentence, one word from each of: " + "; ".join(
            f"{n} ({'/'.join(s) if len(s) < 11 else 'a-z but w'})" for n, s in zip(SLOTS, GRAMMAR, strict=True)))
    pool = speakers(UNSEEN_FACES)
    return render_clip(" ".join(words), pool[speaker % len(pool)], seed)


def predict(video: Any = None, decoder: str = "grammar") -> dict[str, Any]:
    """The web gallery's call: transcript, per-character confidence and the mouth crops as a video."""
    import tempfile

    from ...core.media import write_video

    if video is None:
        raise UserError("give a video of a face speaking")
    if decoder not in DECODERS:
        raise UserError(f"unknown decoder {decoder!r}; choose greedy, beam or grammar")
    crops = mouth_crops(Path(video))
    result = read_lips(crops, decoder)
    mouth = write_video(Path(tempfile.mkdtemp(prefix="lipnet-")) / "mouth.mp4", list(crops))
    return {"transcript": result["transcript"], "confidence": result["confidence"], "mouth": mouth}


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from ...core.runtime import add_device_arg
    from .train import TrainConfig

    parser.add_argument("--data", nargs="+", metavar="SOURCE",
                        help="`rendered` (default: talking mouths rendered offline) or `grid DIR` (the GRID corpus: "
                             "DIR/sN/*.mpg and DIR/align/*.align)")
    parser.add_argument("--out", default="runs/lipnet", help="run folder: resumable state goes to OUT/state")
    add_config_args(parser, TrainConfig)
    parser.add_argument("--export", help="also write the fp16 checkpoint `run --checkpoint` loads (NAME -> "
                                         "NAME.safetensors + NAME.json)")
    add_device_arg(parser)


def train(args: argparse.Namespace) -> int:
    from ...core import distributed
    from ...core.runtime import stop_signals
    from .train import TrainConfig, export
    from .train import train as train_loop

    cfg = config_from_args(TrainConfig, args)
    ctx = distributed.start(args.device)
    try:
        with stop_signals():
            result = train_loop(args.out, cfg, args.data, ctx)
        if args.export and ctx.is_main:
            command = "deepgallery " + " ".join(sys.argv[1:]) if sys.argv[1:3] == ["train", "lipnet"] else ""
            print(f"model written to {export(result, args.export, cfg, command)}")
    finally:
        distributed.finish(ctx)
    return 0


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The shipped LipNet reading the example clips (rendered mouths of a speaker it never trained on)."""
    from ...core.atomic import write_bytes

    items = []
    for path in sorted(EXAMPLES.glob("*.mp4")):
        start = time.perf_counter()
        crops = mouth_crops(path)
        result = read_lips(crops, "grammar")
        greedy = read_lips(crops, "greedy")["transcript"]
        shown = write_bytes(Path(out_dir) / path.name, path.read_bytes())
        truth = path.stem.split("-", 1)[-1].replace("_", " ")
        items.append(DemoItem(title=f"{path.stem} (unseen speaker, rendered)", inputs={"video": str(path)},
                              outputs=[shown], text=f"said: {truth}\nread (grammar beam): {result['transcript']}"
                                                    f"\nread (greedy): {greedy}", seconds=time.perf_counter() - start))
    return items
