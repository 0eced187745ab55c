"""Merge consecutive sightings of the same text into one occurrence with a start and end time.

A video sampled every 0.5 s sees a caption that stays 4 s on screen about eight times, often read a little
differently each time ("LONDON", "L0NDON") and, for moving text, at a different place. The tracker
keeps the occurrences that are still "open"; a new sighting joins the open occurrence whose text is
similar enough and whose box is near enough, otherwise it opens a new one. An occurrence closes when it
has not been seen for `gap` seconds (or at a shot cut / the end of the video). Its text is the reading
with the largest summed confidence; its box, confidence and thumbnail frame are those of its most
confident sighting.

Text that changes in place is new text: an occurrence only gathers readings that are the same words
(`words.same_text`: numbers exactly, typos by length, a half-scrolled-in word is not the word). When the
line at its place reads differently twice in a row ("Slide 4 of 11" → "Slide 5 of 11"), the occurrence
ends and a new one starts at the first different sighting, so the new text is indexed from when it
appeared; a different reading seen once between two same ones is a misreading and is dropped.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from .readers import Line
from .words import same_text


def normalise(text: str) -> str:
    """Lower case, one space between alphanumeric runs: the form readings are compared in."""
    return " ".join(re.findall(r"\w+", text.lower()))


@dataclass
class Occurrence:
    """One stretch of time during which one piece of text stays on screen."""

    text: str
    start: float  # seconds
    end: float  # seconds
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 at the most confident sighting
    conf: float  # confidence of the most confident sighting
    best_t: float  # time of the most confident sighting (its frame is the thumbnail)
    sightings: int = 1
    votes: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # reading → summed conf
    last_box: tuple[float, float, float, float] = (0, 0, 0, 0)
    last_seen: float = 0.0  # time of the latest sighting at this place, also of a different reading
    pending: tuple[float, Line] | None = None  # a different reading seen once, not yet confirmed or refuted
    continued: bool = False  # follows another text at the same place (a ticker's next state): even if seen
    # once, it is not a lone sighting (the indexer drops lone unsure ones)

    @classmethod
    def first(cls, t: float, line: Line, continued: bool = False) -> Occurrence:
        occ = cls(line.text, t, t, line.box, line.conf, t, last_box=line.box, last_seen=t, continued=continued)
        occ.votes[line.text] += line.conf
        return occ

    def add(self, t: float, line: Line) -> None:
        self.end = self.last_seen = max(self.end, t)
        self.sightings += 1
        self.votes[line.text] += line.conf
        self.last_box = line.box
        if line.conf > self.conf:
            self.conf, self.box, self.best_t = line.conf, line.box, t
        self.text = max(self.votes.items(), key=lambda kv: kv[1])[0]


def _near(a: tuple, b: tuple) -> bool:
    """Boxes that may be the same text one sample later: centres within two line heights or half a width."""
    ah, aw = a[3] - a[1], a[2] - a[0]
    dx = abs((a[0] + a[2]) - (b[0] + b[2])) / 2
    dy = abs((a[1] + a[3]) - (b[1] + b[3])) / 2
    return dy <= max(ah, 4) and dx <= max(2 * ah, aw / 2)


def similarity(a: str, b: str) -> float:
    """Text similarity in [0, 1] of two readings (difflib ratio on the normalised text)."""
    return difflib.SequenceMatcher(None, normalise(a), normalise(b)).ratio()


class OccurrenceTracker:
    """Feeds on (time, lines of that frame); emits closed `Occurrence`s."""

    def __init__(self, gap: float = 1.0, min_similarity: float = 0.75):
        self.gap = gap  # close an occurrence unseen for this long (a bit over the sampling interval)
        self.min_similarity = min_similarity
        self.open: list[Occurrence] = []

    def update(self, t: float, lines: list[Line]) -> list[Occurrence]:
        """Add the lines read at time `t`; return the occurrences that closed before `t`."""
        closed = [c for o in self.open if t - o.last_seen > self.gap for c in _ended(o)]
        self.open = [o for o in self.open if t - o.last_seen <= self.gap]
        taken: set[int] = set()
        # best pairs first: each open occurrence takes at most one line of this frame
        pairs = []
        for li, line in enumerate(lines):
            for oi, occ in enumerate(self.open):
                if occ.last_seen < t and _near(occ.last_box, line.box):
                    s = max(similarity(occ.text, line.text),
                            similarity(occ.pending[1].text, line.text) if occ.pending else 0.0)
                    if s >= self.min_similarity:
                        pairs.append((s, li, oi))
        used_lines: set[int] = set()
        for _, li, oi in sorted(pairs, reverse=True):
            if li in used_lines or oi in taken:
                continue
            closed += self._sighting(oi, t, lines[li])
            used_lines.add(li)
            taken.add(oi)
        for li, line in enumerate(lines):
            if li not in used_lines:
                self.open.append(Occurrence.first(t, line))
        return closed

    def _sighting(self, oi: int, t: float, line: Line) -> list[Occurrence]:
        """Line `line` seen at `t` where open occurrence `oi` is: the same text joins it; a different text
        waits for a second sighting before it replaces it (returns what this closed)."""
        occ = self.open[oi]
        if same_text(line.text, occ.text):
            occ.add(t, line)
            occ.pending = None  # the different reading in between was a misreading
            return []
        if occ.pending and same_text(line.text, occ.pending[1].text):  # confirmed: new text from its first sighting
            new = Occurrence.first(*occ.pending, continued=True)
            new.add(t, line)
            occ.pending = None
            self.open[oi] = new
            return [occ]
        out = []
        if occ.pending:  # a third text: the pending one was on screen once, between two others
            out.append(Occurrence.first(*occ.pending, continued=True))
        occ.pending = (t, line)
        occ.last_box, occ.last_seen = line.box, t
        return out

    def close_all(self) -> list[Occurrence]:
        """End of video or shot cut: everything open closes."""
        closed = [c for o in self.open for c in _ended(o)]
        self.open = []
        return closed

    def needed_frames(self) -> set[float]:
        """Times whose frames are still some open occurrence's thumbnail (or may become one)."""
        return {o.best_t for o in self.open} | {o.pending[0] for o in self.open if o.pending}


def _ended(occ: Occurrence) -> list[Occurrence]:
    """An occurrence that closes, and its unconfirmed different reading as one of its own (seen once)."""
    return [occ] + ([Occurrence.first(*occ.pending, continued=True)] if occ.pending else [])
