"""Hooks for `deepgallery run|train|demo caption` and the web gallery (see core/app.py). The models are in model.py,
regions and features in features.py, captioning/alignment/search in pipeline.py, the figure in plots.py, data in
data.py (Karpathy's files) and pseudo.py (the offline training sentences), metrics in metrics.py."""

from __future__ import annotations

import argparse
import html
import sys
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.config import add_config_args, config_from_args, number
from ...core.errors import UserError
from ...core.runtime import add_device_arg

EXAMPLES = Path(__file__).resolve().parent / "examples"
EXAMPLE_PHOTOS = [EXAMPLES / n for n in ("robin.jpg", "street.jpg", "kite.jpg", "dog.jpg")]
WEB_EXAMPLES = [{"image": str(p), "k": 3, "sentence": ""} for p in EXAMPLE_PHOTOS]


def _model(path: str | None):
    from .model import load, load_shipped

    return load(path) if path else load_shipped()


# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", help="a photo to caption; with --search, a folder of photos")
    parser.add_argument("-k", "--captions", type=number(int, "--captions", minimum=1), default=3,
                        help="captions to print, best first (default: 3)")
    parser.add_argument("--beam", type=number(int, "--beam", minimum=1), default=7, help="beam width (default: 7)")
    from .pipeline import DEFAULT_RERANK, RERANK_MODES, RERANK_WEIGHT

    parser.add_argument("--rerank", choices=RERANK_MODES, default=DEFAULT_RERANK,
                        help="none: beam search's most probable captions (the paper); align: the beam's sentences "
                             "reordered by log p + λ·S, S the alignment model's image-sentence score (eq. 8), "
                             f"which sees the detected regions (default: {DEFAULT_RERANK})")
    parser.add_argument("--rerank-weight", type=number(float, "--rerank-weight", minimum=0.0), default=RERANK_WEIGHT,
                        help=f"λ of --rerank align (default: {RERANK_WEIGHT}, chosen on training images)")
    parser.add_argument("--sentence", help="align this sentence to the photo's regions instead of the best caption")
    parser.add_argument("--search", metavar="SENTENCE",
                        help="rank the photos of the INPUT folder by how well SENTENCE describes them (eq. 8)")
    parser.add_argument("-o", "--out", help="the alignment figure (.png; default caption-align.png), or with "
                                            "--search the ranking (.html or .csv; default caption-search.html)")
    parser.add_argument("--checkpoint", help="a checkpoint written by `deepgallery train caption --export` "
                                             "(default: the shipped one, trained on pseudo-captioned photos)")
    add_device_arg(parser, "cpu", "small models: the CPU is as fast for one photo")


def _check_out(out: Path, suffixes: tuple[str, ...]) -> Path:
    if out.suffix.lower() not in suffixes:
        raise UserError(f"{out}: give a name ending in {' or '.join(suffixes)}")
    if out.parent.exists() and not out.parent.is_dir() or out.is_dir():
        raise UserError(f"{out}: cannot write there (a folder, or a file where a folder is expected)")
    return out


def run(args: argparse.Namespace) -> int:
    if not args.input:
        raise UserError('give a photo (deepgallery run caption photo.jpg) or a folder with --search "a dog on grass"')
    src = Path(args.input).expanduser()
    if args.search is not None:
        return _run_search(args, src)
    if src.is_dir():
        raise UserError(f"{src}: is a folder; give one photo, or --search SENTENCE to rank the folder's photos")
    out = _check_out(Path(args.out or "caption-align.png"), (".png",))
    from ...core.media import read_image

    rgb = read_image(src)
    model = _model(args.checkpoint)
    if args.sentence is not None:
        from .pipeline import check_sentence

        check_sentence(model, args.sentence)
    result = describe(model, rgb, args.captions, args.beam, args.sentence, out, args.rerank, args.rerank_weight)
    print(result["result"])
    print(f"alignment figure: {out}")
    return 0


def describe(model, rgb, k: int, beam: int, sentence: str | None, out: Path, rerank: str | None = None,
             weight: float | None = None) -> dict[str, Any]:
    """Captions (reranked as `rerank` says; None: the default), the alignment of the best one (or of `sentence`)
    and the figure."""
    from .features import encode
    from .model import snippets
    from .pipeline import DEFAULT_RERANK, MRF_BETA, RERANK_WEIGHT, align, aligned_beam, caption
    from .pipeline import rerank as rerank_candidates
    from .plots import alignment_figure

    rerank = rerank or DEFAULT_RERANK
    weight = RERANK_WEIGHT if weight is None else weight
    start = time.perf_counter()
    enc = encode(rgb)
    if rerank == "align":  # the beam's sentences with their S, kept for the printout (S is computed once)
        candidates, S = aligned_beam(model, enc, max(beam, k))
        align_score = dict(zip((text for text, _ in candidates), S.tolist(), strict=True))
        found = rerank_candidates(candidates, S, weight)[:k]
    else:
        found = caption(model, enc, k=k, beam=beam, rerank_by=rerank)
    seconds = time.perf_counter() - start
    target = sentence if sentence else (found[0][0] if found else "")
    a = align(model, enc, target, beta=MRF_BETA)
    regions = ", ".join(f"{lab} {s:.2f}" for lab, s in zip(enc.labels[1:], enc.scores[1:], strict=True)) or "none"
    alignment_figure(rgb, enc.boxes, a.words, a.best_region, a.scores, out,
                     title=f"S = {a.total:.2f}   regions: {regions}")
    if rerank == "align" and found:
        lines = [f"{n + 1}. {text}   (log p = {score:.2f}, S = {align_score[text]:.2f}, log p + {weight:g}·S = "
                 f"{score + weight * align_score[text]:.2f})" for n, (text, score) in enumerate(found)]
        lines.append(f"(reranked: the beam's {max(beam, k)} sentences ordered by log p + {weight:g}·S)")
    else:
        lines = [f"{n + 1}. {text}   (log p = {score:.2f})" for n, (text, score) in enumerate(found)]
    lines.append(f"aligned (MRF, eq. 10-11, β = {MRF_BETA}): \"{' '.join(a.words)}\" S = {a.total:.2f}; "
                 + ", ".join(f"{w}→{enc.labels[b]}" for w, b in zip(a.words, a.best_region, strict=True)))
    found_snippets = snippets(a.words, a.best_region, min_words=1)
    if found_snippets:
        lines.append("region snippets: " + "; ".join(f"\"{' '.join(w)}\" on {enc.labels[r]} {enc.scores[r]:.2f}"
                                                     for r, w in found_snippets))
    lines.append(f"detected regions: {regions}   ({seconds * 1000:.0f} ms)")
    return {"result": "\n".join(lines), "image": out,
            "captions": [{"caption": t, "log_probability": round(s, 4)} for t, s in found]}


def _run_search(args: argparse.Namespace, src: Path) -> int:
    from .pipeline import check_sentence, folder_images, search

    if not src.is_dir():
        raise UserError(f"{src}: --search ranks the photos of a folder; give a folder")
    out = _check_out(Path(args.out or "caption-search.html"), (".html", ".csv"))
    files = folder_images(src)
    model = _model(args.checkpoint)
    check_sentence(model, args.search)
    ranked, skipped = search(model, args.search, files)
    for _, why in skipped:
        print(f"skipped: {why}", file=sys.stderr)
    if not ranked:
        raise UserError(f"{src}: none of its {len(files)} image files is readable")
    write_ranking(out, args.search, ranked)
    for n, (path, score, _) in enumerate(ranked[:5]):
        print(f"{n + 1}. {path.name}  S = {score:.2f}")
    print(f"ranked {len(ranked)} photos, skipped {len(skipped)} unreadable: {out}")
    return 0


def write_ranking(out: Path, sentence: str, ranked) -> Path:
    """CSV (rank, file, score, word→region) or an HTML page with the photos, best first."""
    import csv

    from ...core.atomic import atomic_path

    with atomic_path(out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        if out.suffix.lower() == ".csv":
            w = csv.writer(f)
            w.writerow(["rank", "file", "score", "words"])
            for n, (path, score, a) in enumerate(ranked):
                w.writerow([n + 1, str(path), f"{score:.4f}", " ".join(a.words)])
        else:
            f.write(f"<!doctype html><meta charset='utf-8'><title>caption search: {html.escape(sentence)}</title>"
                    f"<h1>&ldquo;{html.escape(sentence)}&rdquo;</h1><p>photos ranked by the image-sentence score "
                    f"S = &Sigma;<sub>t</sub> max<sub>i</sub> v<sub>i</sub>&middot;s<sub>t</sub> (Karpathy &amp; "
                    f"Fei-Fei 2015, eq. 8)</p><ol>")
            for path, score, _ in ranked:
                uri = html.escape(path.resolve().as_uri())
                f.write(f"<li><img src='{uri}' style='max-height:160px'> {html.escape(path.name)} "
                        f"<b>S = {score:.2f}</b></li>")
            f.write("</ol>")
    return out


def predict(image: Any = None, k: int = 3, sentence: str = "") -> dict[str, Any]:
    """The web gallery's call: k captions of a photo and the alignment figure of the best (or of `sentence`)."""
    import tempfile

    from ...core.media import read_image

    if image is None:
        raise UserError("give a photo to caption")
    rgb = read_image(Path(image))
    model = _model(None)
    if sentence:
        from .pipeline import check_sentence

        check_sentence(model, sentence)
    out = Path(tempfile.mkdtemp(prefix="caption-")) / "alignment.png"
    return describe(model, rgb, max(1, min(int(k), 10)), 7, sentence or None, out)


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from .train import TrainConfig

    parser.add_argument("--data", nargs=2, metavar=("FORMAT", "FILE"), required=True,
                        help="the dataset: karpathy DATASET_JSON (dataset_coco.json, dataset_flickr8k.json, "
                             "dataset_flickr30k.json, or the pseudo-captioned photos of "
                             "tools/caption_build_data.py)")
    parser.add_argument("--images", required=True, help="the images folder (COCO: holding train2014/ and val2014/)")
    parser.add_argument("--features-cache", help="regions + CNN features of every image (.npz; default "
                                                 "OUT/features.npz): made once, reused by later runs")
    parser.add_argument("--out", default="runs/caption", help="run folder: resumable state goes to OUT/state")
    add_config_args(parser, TrainConfig)
    parser.add_argument("--export", help="also write the fp16 checkpoint `run --checkpoint` loads (NAME -> "
                                         "NAME.safetensors + NAME.json)")
    add_device_arg(parser)


def train(args: argparse.Namespace) -> int:
    from ...core import distributed
    from ...core.runtime import stop_signals
    from .train import TrainConfig, export
    from .train import train as train_loop

    fmt, data_json = args.data
    if fmt != "karpathy":
        raise UserError(f"unknown dataset format {fmt!r}; the one format is karpathy (Karpathy's split files)")
    cfg = config_from_args(TrainConfig, args)
    ctx = distributed.start(args.device)
    try:
        with stop_signals():
            result = train_loop(args.out, cfg, data_json, args.images, args.features_cache, ctx)
        if args.export and ctx.is_main:
            command = _command(args, cfg)
            manifest = _manifest(Path(data_json))
            print(f"model written to {export(result, args.export, cfg, str(data_json), command, manifest)}")
    finally:
        distributed.finish(ctx)
    return 0


def _command(args: argparse.Namespace, cfg) -> str:
    """The training command, every setting spelled out (what the exported checkpoint's JSON records)."""
    from ...core.config import config_flags

    flags = " ".join(config_flags(cfg, skip=("save_every",)))
    cache = f" --features-cache {args.features_cache}" if args.features_cache else ""
    return (f"deepgallery train caption --data karpathy {args.data[1]} --images {args.images}{cache} "
            f"--out {args.out} {flags} --export {args.export}")


def _manifest(data_json: Path) -> dict:
    """The photo corpus records behind a dataset made by tools/caption_build_data.py (its manifest.json), if any."""
    import json

    path = data_json.parent / "manifest.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The shipped model on the example photos (held-out photos it never trained on): captions and alignments."""
    from ...core.media import read_image

    model = _model(None)
    items = []
    for path in EXAMPLE_PHOTOS:
        start = time.perf_counter()
        out = Path(out_dir) / f"{path.stem}-alignment.png"
        result = describe(model, read_image(path), 3, 7, None, out)
        items.append(DemoItem(title=path.stem, inputs={"image": str(path)}, outputs=[out], text=result["result"],
                              seconds=time.perf_counter() - start))
    return items
