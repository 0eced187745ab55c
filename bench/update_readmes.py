"""Copy measured numbers into the READMEs, so no "ours" column is ever typed by hand.

For every app with a ``measured.json`` (written by ``deepgallery bench ID --save``), an empty block between
``<!-- measured:begin -->`` and ``<!-- measured:end -->`` in its README becomes a table of those
metrics (``--force`` also replaces blocks that hold a richer table, e.g. with paper and peer
columns); the main README's application table (between ``<!-- apps:begin -->`` / ``<!-- apps:end -->``)
is rebuilt from the registry. Run: ``python bench/update_readmes.py`` (``--check`` exits 1 if stale;
``--app ID --force`` rewrites one app's block only).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from deepgallery import registry

ROOT = Path(__file__).resolve().parents[1]
APPS_DIR = ROOT / "deepgallery" / "apps"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def measured_table(measured: dict) -> str:
    kind = "`--quick`" if measured.get("quick") else "full"
    lines = [
        f"Measured by `deepgallery bench {measured['app']}{' --quick' if measured.get('quick') else ''} --save` "
        f"on {measured.get('date', '?')} ({measured.get('machine', '?')}, {kind} budget, "
        f"{measured.get('seconds', '?')} s):",
        "",
        "| metric | ours |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {_fmt(v)} |" for k, v in measured.get("metrics", {}).items()]
    return "\n".join(lines)


def apps_table() -> str:
    lines = ["| id | application | paper | status |", "|---|---|---|---|"]
    for app in registry.all_apps().values():
        name = f"[{app.title}](deepgallery/apps/{app.id}/README.md)" if app.entry else app.title
        lines.append(f"| `{app.id}` | {name} | [{app.paper}]({app.paper_url}) | {app.status} |")
    return "\n".join(lines)


def replace_block(text: str, tag: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {tag}:begin -->\n).*?(<!-- {tag}:end -->)", re.S)
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report READMEs that are out of date")
    parser.add_argument("--force", action="store_true", help="also replace measured blocks that are not empty")
    parser.add_argument("--app", metavar="ID", help="only this app's README (with --force: leave the others alone)")
    args = parser.parse_args(argv)
    apps = registry.all_apps()
    if args.app and args.app not in apps:
        parser.error(f"unknown app {args.app!r}; one of: {', '.join(apps)}")
    updates: dict[Path, str] = {}
    readme = ROOT / "README.md"
    updates[readme] = replace_block(readme.read_text(encoding="utf-8"), "apps", apps_table())
    for app in apps.values():
        if args.app and app.id != args.app:
            continue
        app_readme, measured = APPS_DIR / app.id / "README.md", app.measured()
        if measured and app_readme.is_file():
            text = app_readme.read_text(encoding="utf-8")
            block = re.search(r"<!-- measured:begin -->\n(.*?)<!-- measured:end -->", text, re.S)
            if block and (args.force or not block.group(1).strip()):
                updates[app_readme] = replace_block(text, "measured", measured_table(measured))
    stale = [p for p, text in updates.items() if p.read_text(encoding="utf-8") != text]
    for path in stale:
        print(f"{'stale' if args.check else 'updated'}: {path.relative_to(ROOT)}")
        if not args.check:
            path.write_text(updates[path], encoding="utf-8")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
