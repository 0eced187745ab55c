"""Write deepgallery/apps/handwriting/examples/styles/style-N.json: one line by each of six held-out simulated
writers (never trained on), the shipped styles of `run handwriting --style N`, in the --prime format."""

from __future__ import annotations

import json
from pathlib import Path

from deepgallery.apps.handwriting import synth

OUT = Path(__file__).resolve().parent.parent / "deepgallery" / "apps" / "handwriting" / "examples" / "styles"
LINES = ["a line of handwriting", "Written by hand, slowly.", "the pen moves on paper",
         "Some words in my style", "lines of text written", "quick notes for later"]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for n, text in enumerate(LINES, start=1):
        writer_id = synth.TRAIN_WRITERS + 2 * n + (n + 1) % 2  # odd styles print, even ones the joined hand
        strokes = synth.write_line(text, synth.writer(writer_id), seed=n)
        data = {"text": text, "writer": writer_id, "hand": synth.writer(writer_id).hand,
                "strokes": [[[round(x, 2), round(-y, 2), round(t, 3)] for x, y, t in s] for s in strokes]}
        (OUT / f"style-{n}.json").write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"style-{n}: writer {writer_id} ({data['hand']}), {sum(len(s) for s in strokes)} points")


if __name__ == "__main__":
    main()
