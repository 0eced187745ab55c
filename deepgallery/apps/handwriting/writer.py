"""From a request to files: check the text, choose the priming line (a shipped style or a person's strokes), sample
the network, and write the SVG, the PNG, the pen's animation and the attention-window figure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from . import render
from .data import check_text, encode, read_strokes_json
from .model import Model, Written, write

STYLES = Path(__file__).resolve().parent / "examples" / "styles"


def style_count() -> int:
    return len(list(STYLES.glob("style-*.json")))


def style_prime(n: int) -> tuple[list[np.ndarray], str]:
    """Shipped style n (1..): one line by a held-out simulated writer, with its text."""
    path = STYLES / f"style-{n}.json"
    if not path.is_file():
        raise UserError(f"--style {n}: there are styles 0 (the network's own) to {style_count()}")
    strokes, text = read_strokes_json(path)
    return strokes, text or ""


def person_prime(strokes_json, text: str | None, alphabet: str) -> tuple[list[np.ndarray], str]:
    """A person's strokes (JSON or a file of it) and what they say: the priming sequence."""
    strokes, own_text = read_strokes_json(strokes_json)
    text = " ".join((text or own_text or "").split())
    if not text:
        raise UserError("say what the priming strokes read (--prime-text \"...\", or \"text\" in the JSON): the "
                        "network needs the text to align them")
    bad = sorted({c for c in text if c not in alphabet})
    if bad:
        raise UserError(f"the priming text has characters the model cannot write: {', '.join(map(repr, bad))}")
    encode(text, alphabet)
    return strokes, text


@dataclass
class Request:
    text: str
    style: int = 1
    bias: float = 0.75
    seed: int = 0
    prime: tuple[list[np.ndarray], str] | None = None


def prepare(model: Model, text: str, style: int, bias: float, seed: int, strokes=None,
            prime_text: str | None = None) -> Request:
    """Every check before anything is computed or written."""
    text = check_text(text, model.cfg.alphabet)
    if bias < 0:
        raise UserError(f"--bias must be >= 0, got {bias}")
    if strokes is not None and strokes != "" and strokes != []:
        prime = person_prime(strokes, prime_text, model.cfg.alphabet)
    elif style:
        prime = style_prime(int(style))
    else:
        prime = None
    return Request(text, int(style), float(bias), int(seed), prime)


def sample(model: Model, req: Request) -> Written:
    return write(model.net, req.text, bias=req.bias, seed=req.seed, prime=req.prime)


def window_figure(written: Written, text: str, path: str | Path) -> Path:
    """The paper's Fig. 12: the window weights φ(t, u) over the characters (rows) at each pen point (columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...core.atomic import atomic_path

    phi = written.phi[:, :len(text)].T  # (U, T)
    fig, ax = plt.subplots(figsize=(min(12, 2 + phi.shape[1] / 40), 1.2 + 0.16 * len(text)), dpi=100)
    ax.imshow(phi, aspect="auto", cmap="Greys", interpolation="nearest")
    ax.set_yticks(range(len(text)), [c if c != " " else "␣" for c in text], fontsize=7)
    ax.set_xlabel("pen point t")
    ax.set_title("soft window φ(t, u)", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return Path(path)


def save(written: Written, text: str, prefix: str | Path, animation: str = "gif") -> dict[str, Path]:
    """prefix.svg, prefix.png, prefix.gif (or .mp4) and prefix-window.png."""
    prefix = Path(prefix)
    strokes = written.strokes
    return {"svg": render.svg(strokes, prefix.with_name(prefix.name + ".svg")),
            "handwriting": render.png(strokes, prefix.with_name(prefix.name + ".png")),
            "animation": render.animation(strokes, prefix.with_name(prefix.name + "." + animation)),
            "window": window_figure(written, text, prefix.with_name(prefix.name + "-window.png"))}
