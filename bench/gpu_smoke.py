"""GPU smoke test: every app's `run` and a short `train` on one device, one line each, and a Markdown table.

    python bench/gpu_smoke.py --device cuda --out /tmp/smoke        # on a machine with a GPU
    python bench/gpu_smoke.py --device cpu --quick                  # the same commands on the CPU (a dry run)

Each command runs in this process through the `deepgallery` CLI (so peak GPU memory can be read) and is
reported as ok / failed (exit status and the error line) / skipped (an optional package is not installed),
with its seconds and peak GPU memory. `--variants` adds the bf16-vs-fp32 timings of the apps that take
`--precision`. CI never runs this (it has no GPU); its table from a lent GPU machine is in the README.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "deepgallery" / "apps"


def steps(out: Path, quick: bool) -> list[tuple[str, str, list[str]]]:
    """(app, what, argv) for every command; `quick` shrinks sizes so the CPU dry run takes minutes."""
    big = not quick
    ex = {a: APPS / a / "examples" for a in ("style", "deepdream", "pose", "deepwarp", "face2face")}
    photo = str(ex["style"] / "chelsea.jpg")
    return [
        ("neuralcrypto", "run", ["run", "neuralcrypto", "--message", "attack at dawn", "--seed", "0"]),
        ("neuralcrypto", "train", ["train", "neuralcrypto", "--steps", "1000" if big else "200", "--batch-size",
                                   "4096" if big else "512", "--probe-eve-steps", "200" if big else "50",
                                   "--eval-eves", "1",
                                   "--eval-eve-steps", "500" if big else "100", "--out", str(out / "nc")]),
        ("viscoelastic", "run", ["run", "viscoelastic", "-o", str(out / "visco.png")]),
        ("viscoelastic", "train", ["train", "viscoelastic", "--steps", "1000" if big else "50", "--samples",
                                   "20000" if big else "4000", "--held-out", "2000", "--batch-size", "1024",
                                   "--out", str(out / "visco")]),
        ("deepdream", "run", ["run", "deepdream", str(ex["deepdream"] / "astronaut.jpg"), "--size",
                              "512" if big else "128", "-o", str(out / "dream.png")]),
        ("style", "run gatys", ["run", "style", "--content", photo, "--style", str(ex["style"] / "swirl.jpg"),
                                "--size", "512" if big else "96", "--iterations", "200" if big else "5",
                                "-o", str(out / "gatys.png")]),
        ("style", "run fast", ["run", "style", "--content", photo, "--method", "fast", "--fast", "swirl",
                               "--size", "1024" if big else "128", "-o", str(out / "fast.png")]),
        ("style", "train", ["train", "style", "--style", str(ex["style"] / "swirl.jpg"), "--steps",
                            "200" if big else "3", "--batch", "4" if big else "2", "--crop", "256" if big else "64",
                            "--out", str(out / "style")]),
        ("ppgn", "run", ["run", "ppgn", "volcano", "-n", "4" if big else "1", "--steps", "60" if big else "3",
                         "--size", "128" if big else "64", "-o", str(out / "ppgn.png")]),
        ("ppgn", "train", ["train", "ppgn", "--steps", "300" if big else "3", "--batch", "64" if big else "4",
                           "--out", str(out / "ppgn")]),
        ("textspot", "train", ["train", "textspot", "--rounds", "1", "--samples-per-round", "4000" if big else "200",
                               "--words", "50" if big else "20", "--out", str(out / "textspot")]),
        ("pose", "run paf", ["run", "pose", str(ex["pose"] / "group5.jpg"), "--model", "paf",
                             "-o", str(out / "pose.png")]),
        ("pose", "train", ["train", "pose", "--synthetic", "256" if big else "8", "--steps", "200" if big else "2",
                           "--batch", "16" if big else "2", "--size", "256" if big else "128",
                           "--out", str(out / "pose")]),
        ("deepwarp", "run", ["run", "deepwarp", str(ex["deepwarp"] / "astronaut.jpg"), "--angle", "15,0",
                             "-o", str(out / "deepwarp.png")]),
        ("deepwarp", "train", ["train", "deepwarp", "--steps", "300" if big else "2", "--batch", "64" if big else "4",
                               "--bank-sets", "64" if big else "8",
                               "--out", str(out / "deepwarp")]),
        ("dqn", "run", ["run", "dqn", "--game", "Pong", "--episodes", "1", "--max-steps", "3000" if big else "200"]),
        ("dqn", "train", ["train", "dqn", "--game", "Pong", "--steps", "15000" if big else "600", "--learning-starts",
                          "5000" if big else "300", "--eval-every", "1000000", "--eval-episodes", "1",
                          "--run-dir", str(out / "dqn")]),
        ("face2face", "run", ["run", "face2face", "--source", str(ex["face2face"] / "grace_hopper.jpg"),
                              "--target", str(ex["face2face"] / "astronaut.jpg"), "-o", str(out / "f2f.png")]),
    ]


def variants(out: Path, quick: bool) -> list[tuple[str, str, list[str]]]:
    """The same Gatys and DeepDream runs in float32 and bf16 autocast: whether bf16 helps on this GPU."""
    photo = str(APPS / "style" / "examples" / "chelsea.jpg")
    found = []
    for precision in ("fp32", "bf16"):
        found.append(("style", f"gatys {precision}", [
            "run", "style", "--content", photo, "--style", str(APPS / "style" / "examples" / "swirl.jpg"),
            "--size", "96" if quick else "512", "--iterations", "5" if quick else "200", "--precision", precision,
            "-o", str(out / f"gatys-{precision}.png")]))
        found.append(("deepdream", f"dream {precision}", [
            "run", "deepdream", str(APPS / "deepdream" / "examples" / "astronaut.jpg"), "--size",
            "128" if quick else "1024", "--precision", precision, "-o", str(out / f"dream-{precision}.png")]))
    return found


def takes(argv: list[str], flag: str) -> bool:
    """Whether `deepgallery <verb> <app>` has `flag` (so the script runs on apps that do not take --device)."""
    from deepgallery import registry

    parser = registry.get(argv[1]).arg_parser(argv[0])
    return any(flag in a.option_strings for a in parser._actions)


def run_one(argv: list[str], device: str) -> dict:
    from deepgallery.cli import main
    from deepgallery.core.errors import UserError

    if takes(argv, "--device"):
        argv = [*argv, "--device", device]
    elif device != "cpu":
        return {"status": "cpu only", "detail": "this command takes no --device (it does not compute with torch)"}
    cuda = device.startswith("cuda")
    if cuda:
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    err = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main(argv)
        status, detail = ("ok", "") if code == 0 else ("failed", f"exit {code}: {_last_line(err.getvalue())}")
    except UserError as exc:
        status, detail = ("skipped" if _missing_package(str(exc)) else "failed"), str(exc)
    except SystemExit as exc:
        status, detail = "failed", f"exit {exc.code}: {_last_line(err.getvalue())}"
    except Exception as exc:  # noqa: BLE001 — a smoke test reports every failure and goes on
        status, detail = "failed", f"{type(exc).__name__}: {exc}"
    if status == "failed" and _missing_package(detail):
        status = "skipped"
    seconds = time.perf_counter() - start
    peak = None
    if cuda:
        import torch

        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**30
    return {"status": status, "seconds": round(seconds, 2), "peak_gib": None if peak is None else round(peak, 3),
            "detail": detail[:300]}


def _missing_package(message: str) -> bool:
    """An app's one-line error for an optional package that is not installed (it names what to pip install)."""
    return " needs " in message and "pip install" in message


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:1, cpu, mps (default: cuda)")
    parser.add_argument("--out", default="gpu-smoke", help="folder for outputs and checkpoints")
    parser.add_argument("--apps", nargs="*", help="only these app ids")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a CPU dry run of the same commands)")
    parser.add_argument("--variants", action="store_true", help="also time fp32 against bf16 autocast")
    parser.add_argument("--json", help="write the rows as JSON here")
    args = parser.parse_args(argv)
    os.environ["DEEPGALLERY_QUIET"] = "1"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = steps(out, args.quick) + (variants(out, args.quick) if args.variants else [])
    rows = []
    import torch

    name = torch.cuda.get_device_name() if args.device.startswith("cuda") and torch.cuda.is_available() else "cpu"
    print(f"device: {args.device} ({name}), torch {torch.__version__}", flush=True)
    for app, what, cmd in plan:
        if args.apps and app not in args.apps:
            continue
        try:
            row = run_one(cmd, args.device)
        except Exception as exc:  # noqa: BLE001 — e.g. the app's optional package is missing at parse time
            row = {"status": "skipped" if _missing_package(str(exc)) else "failed",
                   "detail": f"{type(exc).__name__}: {exc}"[:300]}
        row = {"app": app, "command": what, **row}
        rows.append(row)
        mem = f"{row['peak_gib']:.2f} GiB" if row.get("peak_gib") is not None else "-"
        print(f"{app:<13} {what:<12} {row['status']:<8} {row.get('seconds', 0):>7.1f} s  {mem:>9}  "
              f"{row.get('detail', '')}", flush=True)
    print("\n| app | command | result | seconds | peak GPU memory | note |\n|---|---|---|---|---|---|")
    for r in rows:
        mem = f"{r['peak_gib']:.2f} GiB" if r.get("peak_gib") is not None else "-"
        print(f"| {r['app']} | {r['command']} | {r['status']} | {r.get('seconds', 0):.1f} | {mem} | "
              f"{r.get('detail', '')[:120]} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": args.device, "name": name, "torch": torch.__version__,
                                               "rows": rows}, indent=2) + "\n", encoding="utf-8")
    return 1 if any(r["status"] == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
