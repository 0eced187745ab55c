"""The `deepgallery` command: list, info, run, train, bench, demo, serve, assets.

User mistakes raise `UserError`; `main` prints them as one line and exits 2 — no tracebacks.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import registry
from .core.app import App, AppArgumentParser
from .core.atomic import write_text
from .core.errors import UserError
from .core.runtime import add_device_arg
from .version import __version__


def _cmd_list(args: argparse.Namespace) -> int:
    apps = registry.all_apps().values()
    width = max(len(a.id) for a in apps)
    for app in apps:
        print(f"{app.id:<{width}}  {app.status:<7}  {app.title} — {app.paper}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .core import assets as asset_store

    app = registry.get(args.app)
    print(f"{app.id}: {app.title}  [{app.status}]")
    print(f"paper:   {app.paper}\n         {app.paper_url}")
    print(f"summary: {app.summary}")
    if app.extra:
        print(f"install: pip install 'deepgallery[{app.extra}]'")
    for p in app.inputs:
        print(f"input:   {p.name} ({p.kind}) — {p.help}")
    for o in app.outputs:
        print(f"output:  {o.name} ({o.kind}) — {o.help}")
    for name in app.checkpoints:
        print(f"checkpoint: {name} (shipped)")
    for asset in app.assets:
        print(f"asset:   {asset.name} [{asset_store.status(asset)}] — {asset.description or asset.filename}")
    measured = app.measured()
    if measured:
        print(f"measured ({measured.get('date', '?')}, {measured.get('machine', '?')}"
              f"{', quick' if measured.get('quick') else ''}):")
        for key, value in measured.get("metrics", {}).items():
            print(f"  {key} = {value}")
    return 0


def _cmd_run_or_train(args: argparse.Namespace) -> int:
    app = registry.get(args.app)
    parser = app.arg_parser(args.verb)
    app_args = parser.parse_args(args.rest)
    result = getattr(app.hooks(), args.verb)(app_args)
    return int(result or 0)


def _cmd_bench(args: argparse.Namespace) -> int:
    from .api import bench

    record = bench(args.app, quick=args.quick, device=args.device)
    width = max([len(k) for k in record["metrics"]] + [6])
    print(f"{'metric':<{width}}  value")
    for key, value in record["metrics"].items():
        print(f"{key:<{width}}  {value:.4g}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    text = json.dumps(record, indent=2)
    if args.json:
        write_text(args.json, text + "\n")
    if args.save and args.app != "gallery":
        write_text(registry.get(args.app).folder / "measured.json", text + "\n")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = args.apps or [a.id for a in registry.all_apps().values() if a.entry]
    sections, failures = [], 0
    for app_id in chosen:
        app = registry.get(app_id)
        print(f"== {app.id}: {app.title}", flush=True)
        start = time.perf_counter()
        try:
            hooks = app.hooks()
            if not hasattr(hooks, "demo"):
                raise UserError(f"{app.id} has no built-in examples yet")
            items = hooks.demo(out / app.id)
            error = ""
        except UserError as exc:
            items, error = [], str(exc)
            failures += 1
            print(f"   failed: {error}", file=sys.stderr)
        total = time.perf_counter() - start
        for item in items:
            item.seconds = item.seconds or total / max(1, len(items))
            print(f"   {item.title}: {', '.join(str(p) for p in item.outputs)} ({item.seconds:.1f} s)")
        sections.append(_demo_section(app, items, error, total, out))
    page = _DEMO_PAGE.format(version=__version__, sections="\n".join(sections),
                             date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    write_text(out / "index.html", page)
    print(f"demo page: {out / 'index.html'}")
    return 1 if failures else 0


def _demo_section(app: App, items: list, error: str, total: float, out: Path) -> str:
    esc = html.escape
    rows = []
    for item in items:
        ins = "".join(f"<li><b>{esc(k)}</b>: {_media(v, out)}</li>" for k, v in item.inputs.items())
        outs = "".join(f"<div class=out>{_media(str(p), out)}</div>" for p in item.outputs)
        text = f"<pre>{esc(item.text)}</pre>" if item.text else ""
        rows.append(f"<div class=item><h3>{esc(item.title)} <small>{item.seconds:.1f} s</small></h3>"
                    f"<ul>{ins}</ul>{text}{outs}</div>")
    err = f"<p class=err>{esc(error)}</p>" if error else ""
    return (f"<section id={esc(app.id)}><h2>{esc(app.title)} <small>({esc(app.id)}, {total:.1f} s)</small></h2>"
            f"<p><a href='{esc(app.paper_url)}'>{esc(app.paper)}</a></p><p>{esc(app.summary)}</p>"
            f"{err}{''.join(rows)}</section>")


def _media(value: str, out: Path) -> str:
    esc = html.escape
    p = Path(value)
    if not p.is_file():
        return esc(value)
    try:
        rel = p.resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        rel = p.resolve().as_uri()
    suffix = p.suffix.lower()
    if suffix in {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}:
        return f"<img src='{esc(rel)}' alt='{esc(p.name)}'>"
    if suffix in {".mp4", ".webm"}:
        return f"<video src='{esc(rel)}' controls loop muted></video>"
    return f"<a href='{esc(rel)}'>{esc(p.name)}</a>"


_DEMO_PAGE = """<!doctype html>
<html lang=en><head><meta charset=utf-8><title>deepgallery demo</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
img,video{{max-width:100%;max-height:420px}} li img,li video{{max-height:160px;vertical-align:middle}}
.item{{border-top:1px solid #ddd;padding:.5em 0}}
.out{{display:inline-block;margin:.3em;vertical-align:top;max-width:48%}} .err{{color:#b00}}
pre{{background:#f6f6f6;padding:.5em;overflow:auto}}</style></head>
<body><h1>deepgallery {version} — built-in examples</h1><p>Generated {date} by <code>deepgallery demo</code>.</p>
{sections}
</body></html>
"""


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .web import server
    except ModuleNotFoundError as exc:
        raise UserError(f"the web gallery needs {exc.name!r}: pip install 'deepgallery[web]'") from None
    return int(server.serve(host=args.host, port=args.port, max_jobs=args.max_jobs) or 0)


def _cmd_assets(args: argparse.Namespace) -> int:
    from .core import assets as asset_store

    print(f"asset folder: {asset_store.home() / 'assets'} (set DEEPGALLERY_HOME to move it)")
    corrupt = missing = 0
    for app in registry.all_apps().values():
        for asset in app.assets:
            state = asset_store.status(asset)
            corrupt += state == "corrupt"
            missing += state == "missing"
            print(f"{app.id:<13} {asset.name:<28} {state:<8} {asset.how_to_get if state != 'ok' else ''}")
    if missing:
        print(f"{missing} asset(s) not installed: the apps that need them say so when run")
    if corrupt:
        print(f"deepgallery: error: {corrupt} asset(s) fail their SHA-256 check; reinstall them as shown",
              file=sys.stderr)
    return 1 if corrupt else 0


def _cmd_data(args: argparse.Namespace) -> int:
    from .core import photos

    records = photos.corpus("all")
    by_source: dict[str, list] = {}
    for record in records:
        by_source.setdefault(record.source, []).append(record)
    sides = {s.name: s.split for s in photos.SOURCES}
    for source, part in by_source.items():
        print(f"{source:<30} {sides[source]:<8} {len(part):>4} photos {sum(r.megapixels for r in part):>7.1f} MP")
    for line in photos.missing_sources():
        print(f"{'(not installed) ' + line}")
    if args.out:
        summary = photos.export(args.out)
    else:
        summary = photos.summarize(records)
    for split, part in summary.items():
        print(f"{split}: {part['photos']} photos, {part['megapixels']} MP")
    if args.out:
        print(f"copied to {args.out} with manifest.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = AppArgumentParser(prog="deepgallery", description=__doc__.splitlines()[0])  # mistakes: one line
    parser.add_argument("--version", action="version", version=f"deepgallery {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="one row per application").set_defaults(func=_cmd_list)
    p = sub.add_parser("info", help="paper, inputs, outputs, checkpoints, assets, measured numbers")
    p.add_argument("app")
    p.set_defaults(func=_cmd_info)
    for verb, text in (("run", "run an application on your input"), ("train", "train an application")):
        p = sub.add_parser(verb, help=text, add_help=False)
        p.add_argument("app")
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_cmd_run_or_train, verb=verb)
    p = sub.add_parser("bench", help="measure quality and speed (an app id, or 'gallery')")
    p.add_argument("app")
    p.add_argument("--quick", action="store_true", help="a smaller budget (under 5 minutes on 2 CPU cores)")
    p.add_argument("--json", metavar="PATH", help="write {app, metrics, config} as JSON")
    p.add_argument("--save", action="store_true", help="store the result as the app's measured.json")
    add_device_arg(p, "cpu", "for an app whose bench takes a device (others run on the CPU only and refuse "
                             "any other); cpu keeps measured numbers comparable")
    p.set_defaults(func=_cmd_bench)
    p = sub.add_parser("demo", help="run every built app on its examples and write index.html")
    p.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    p.add_argument("--apps", nargs="*", help="only these app ids")
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("serve", help="the web gallery on localhost")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--max-jobs", type=int, default=1, help="jobs run at once; the rest wait in a queue")
    p.set_defaults(func=_cmd_serve)
    sub.add_parser("assets", help="where pretrained assets are and whether they check out").set_defaults(
        func=_cmd_assets)
    p = sub.add_parser("data", help="training data gathered offline: `data photos` (the photo corpus)")
    p.add_argument("dataset", choices=["photos"])
    p.add_argument("--out", help="copy the files here with a manifest.json (default: only list them)")
    p.set_defaults(func=_cmd_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # `run ID --help` reaches the app's own parser (REMAINDER)
        return args.func(args)
    except UserError as exc:
        print(f"deepgallery: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deepgallery: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
