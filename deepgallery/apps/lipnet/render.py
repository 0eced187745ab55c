"""Talking mouths rendered offline: the stand-in for GRID when no GRID videos are at hand.

1. Sentences from the GRID grammar (text.GRAMMAR).
2. Phonemes and timings from a real speech synthesiser: for each of GRID's 51 words, `espeak-ng -x` gives its
   phonemes and the length of the audio `espeak-ng` synthesises gives its duration (stored in phonemes.json by
   `tools/lipnet_phonemes.py`, so rendering needs no espeak-ng). Within a word the time is shared out by phoneme
   class (vowels long, stops short); a clip's speaking rate scales everything.
3. Phonemes → visemes → mouth shapes: each phoneme sets five articulation targets (opening, spread, rounding,
   teeth shown, tongue shown) at its centre; between centres the targets are interpolated and smoothed, as
   neighbouring sounds blend (coarticulation).
4. Shapes → pixels on real faces: the lips of a real face photo (faces/, MediaPipe landmarks) are moved to each
   frame's shape with a thin-plate-spline warp of the 100×50 mouth crop; the opening between the inner lips is
   painted as a dark cavity with upper teeth and tongue. Speakers are the real faces under different looks
   (skin and lip colour, mouth size, mirror); every clip adds head-pose jitter and drift, lighting and noise.

Clips are 75 frames at 25 fps (3 s, as in GRID). The unseen-speaker split holds out a whole real face.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .face import CROP_H, CROP_W, MOUTH_LEFT, MOUTH_RIGHT, MOUTH_Y
from .text import GRAMMAR, random_sentence

HERE = Path(__file__).resolve().parent
FRAMES, FPS = 75, 25.0
ARTICULATORS = ("open", "spread", "round", "teeth", "tongue")

# viseme targets per phoneme (espeak-ng's ASCII phoneme names): open, spread, round, teeth, tongue
_V = {
    "i:": (0.25, 0.9, 0.0, 0.8, 0.0), "I": (0.3, 0.7, 0.0, 0.6, 0.0), "E": (0.5, 0.6, 0.0, 0.5, 0.1),
    "a": (0.8, 0.5, 0.0, 0.3, 0.2), "A": (0.85, 0.2, 0.1, 0.2, 0.2), "V": (0.55, 0.3, 0.0, 0.3, 0.1),
    "@": (0.4, 0.3, 0.0, 0.3, 0.1), "u:": (0.2, -0.8, 1.0, 0.0, 0.0), "U": (0.3, -0.4, 0.6, 0.1, 0.0),
    "o": (0.5, -0.4, 0.8, 0.0, 0.0), "O": (0.6, -0.3, 0.6, 0.0, 0.1), "3": (0.35, 0.0, 0.4, 0.2, 0.0),
    "e": (0.5, 0.6, 0.0, 0.5, 0.1),
    "p": (0.0, 0.1, 0.0, 0.0, 0.0), "b": (0.0, 0.1, 0.0, 0.0, 0.0), "m": (0.0, 0.1, 0.0, 0.0, 0.0),
    "f": (0.08, 0.2, 0.0, 1.0, 0.0), "v": (0.08, 0.2, 0.0, 1.0, 0.0),
    "T": (0.2, 0.3, 0.0, 0.8, 1.0), "D": (0.2, 0.3, 0.0, 0.8, 1.0),
    "t": (0.2, 0.3, 0.0, 0.8, 0.4), "d": (0.2, 0.3, 0.0, 0.8, 0.4), "n": (0.2, 0.3, 0.0, 0.7, 0.4),
    "l": (0.3, 0.3, 0.0, 0.6, 0.9), "s": (0.12, 0.6, 0.0, 1.0, 0.0), "z": (0.12, 0.6, 0.0, 1.0, 0.0),
    "S": (0.2, -0.3, 0.7, 0.7, 0.0), "Z": (0.2, -0.3, 0.7, 0.7, 0.0), "tS": (0.2, -0.3, 0.7, 0.7, 0.0),
    "dZ": (0.2, -0.3, 0.7, 0.7, 0.0), "k": (0.35, 0.2, 0.0, 0.3, 0.0), "g": (0.35, 0.2, 0.0, 0.3, 0.0),
    "N": (0.3, 0.2, 0.0, 0.3, 0.0), "w": (0.1, -0.8, 1.0, 0.0, 0.0), "r": (0.2, -0.3, 0.5, 0.2, 0.0),
    "j": (0.2, 0.6, 0.0, 0.6, 0.0), "h": (0.4, 0.3, 0.0, 0.3, 0.0),
}
_DIPHTHONGS = {"aI": ("a", "I"), "eI": ("E", "I"), "oU": ("o", "U"), "aU": ("a", "U"), "OI": ("O", "I"),
               "i@": ("i:", "@"), "e@": ("E", "@"), "o@": ("o", "@"), "A@": ("A", "@"), "U@": ("U", "@")}
REST = (0.0, 0.0, 0.0, 0.0, 0.0)  # silence: lips closed, relaxed
ALL_WORDS = sorted({w for slot in GRAMMAR for w in slot})  # GRID's 51 words


def split_phonemes(ascii_phonemes: str) -> list[str]:
    """espeak-ng -x output ("pl'eIs") → phoneme names (["p", "l", "eI", "s"]), stress marks dropped."""
    s = "".join(c for c in ascii_phonemes if c not in "',#=%_;:" or c == ":")
    s = s.replace("'", "").replace(",", "").replace("#", "")
    out, i = [], 0
    names = sorted(set(_V) | set(_DIPHTHONGS), key=len, reverse=True)
    while i < len(s):
        for n in names:
            if s.startswith(n, i):
                out.append(n)
                i += len(n)
                break
        else:
            i += 1  # a symbol with no viseme of its own (e.g. a length mark): skip it
    return out


def _weight(ph: str) -> float:
    if ph in _DIPHTHONGS:
        return 2.6
    if ph in ("p", "b", "t", "d", "k", "g"):
        return 0.8
    return 1.8 if _V[ph][2] > 0.5 or ph in ("i:", "I", "E", "a", "A", "V", "@", "U", "o", "O", "3", "e") else 1.0


@lru_cache(maxsize=1)
def word_phonemes() -> dict[str, dict]:
    """{word: {"phonemes": "pl'eIs", "seconds": 0.52}} from phonemes.json (made by tools/lipnet_phonemes.py)."""
    return json.loads((HERE / "phonemes.json").read_text())["words"]


def espeak_word(word: str, rate: int = 175) -> dict:
    """One word through espeak-ng: its phonemes (-x) and its spoken length (the synthesised audio, trimmed)."""
    import io
    import subprocess
    import wave

    phon = subprocess.run(["espeak-ng", "-q", "-x", "-v", "en-us", "-s", str(rate), word], capture_output=True,
                          text=True, check=True).stdout.strip()
    wav = subprocess.run(["espeak-ng", "--stdout", "-v", "en-us", "-s", str(rate), word], capture_output=True,
                         check=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32)
        sr = w.getframerate()
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    return {"phonemes": phon, "seconds": round(float((loud[-1] - loud[0]) / sr), 3)}


def timeline(sentence: str, rng: np.random.Generator, rate: float = 1.0) -> np.ndarray:
    """(FRAMES, 5) articulation per frame for a sentence spoken at `rate` (1: espeak-ng's 175 words/min)."""
    return timed_track(sentence, rng, rate)[0]


def timed_track(sentence: str, rng: np.random.Generator, rate: float = 1.0) -> tuple[np.ndarray, list]:
    """timeline() and each word's (start, end) in seconds, the same random draws as timeline()."""
    words = word_phonemes()
    word_spans: list[tuple[float, float]] = []
    keys: list[tuple[float, tuple]] = []
    seq = []
    for w in sentence.split():
        phs = split_phonemes(words[w]["phonemes"])
        dur = words[w]["seconds"] / rate
        seq.append((phs, dur, rng.uniform(0.0, 0.12) / rate))  # a short pause after the word, or none
    speech = sum(d + p for _, d, p in seq)
    t = rng.uniform(0.15, max(0.2, FRAMES / FPS - speech - 0.15))  # onset: GRID clips start and end in silence
    keys.append((0.0, REST))
    keys.append((t - 0.05, REST))
    for phs, dur, pause in seq:
        start = t
        weights = np.array([_weight(p) for p in phs])
        spans = dur * weights / weights.sum()
        for ph, span in zip(phs, spans, strict=True):
            if ph in _DIPHTHONGS:
                a, b = _DIPHTHONGS[ph]
                keys.append((t + 0.25 * span, _V[a]))
                keys.append((t + 0.75 * span, _V[b]))
            else:
                keys.append((t + 0.5 * span, _V[ph]))
            t += span
        word_spans.append((start, t))
        if pause > 0.06:
            keys.append((t + pause / 2, tuple(0.5 * v for v in keys[-1][1])))
        t += pause
    keys.append((t + 0.08, REST))
    keys.append((FRAMES / FPS + 1, REST))
    times = np.array([k for k, _ in keys])
    values = np.array([v for _, v in keys], dtype=np.float64)  # (K, 5)
    frame_t = (np.arange(FRAMES) + 0.5) / FPS
    track = np.stack([np.interp(frame_t, times, values[:, j]) for j in range(5)], 1)  # (T, 5)
    kernel = np.exp(-0.5 * (np.arange(-3, 4) / 0.9) ** 2)
    kernel /= kernel.sum()  # coarticulation: ~40 ms of smoothing
    padded = np.concatenate([track[:1].repeat(3, 0), track, track[-1:].repeat(3, 0)])
    return np.stack([np.convolve(padded[:, j], kernel, "valid") for j in range(5)], 1), word_spans


# ------------------------------------------------------------------------------------------------- faces

@dataclass(frozen=True)
class Speaker:
    """A real face under one look: mirrored or not, a colour cast of skin and lips, a mouth size."""

    name: str
    face: str  # faces/<face>.jpg
    mirror: bool
    hue: float  # shift of the colour balance
    tone: float  # brightness of the skin
    size: float  # mouth size in the crop


TRAIN_FACES = ("astronaut", "faceapi20", "faceapi30", "faceapi31", "faceapi50", "faceapi60", "faceapi62")
UNSEEN_FACES = ("hopper",)  # the one man, and the one old face: the hardest speaker to generalise to
LOOKS = 6  # looks per face in the test splits: 42 training speakers, 6 unseen ones


def speakers(faces: tuple[str, ...]) -> list[Speaker]:
    out = []
    for face in faces:
        rng = np.random.default_rng(zlib.crc32(face.encode()))
        for k in range(LOOKS):
            out.append(Speaker(f"{face}-{k}", face, bool(k % 2), float(rng.uniform(-0.12, 0.12)) if k else 0.0,
                               float(rng.uniform(0.75, 1.2)) if k else 1.0, float(rng.uniform(0.9, 1.1)) if k else 1.0))
    return out


@lru_cache(maxsize=8)
def _face(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 lower-face photo and its (40, 2) lip landmarks (outer ring then inner ring)."""
    import cv2

    rgb = cv2.cvtColor(cv2.imread(str(HERE / "faces" / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
    lips = np.array(json.loads((HERE / "faces" / "faces.json").read_text())["faces"][name]["lips"])
    return rgb, lips


# ring positions in the stored 40 landmarks
O_L, O_UP, O_R, O_LO = 0, list(range(1, 10)), 10, list(range(11, 20))
I_L, I_UP, I_R, I_LO = 20, list(range(21, 30)), 30, list(range(31, 40))


def _tps_basis(ctrl: np.ndarray) -> np.ndarray:
    """(H·W, n) matrix G: a thin-plate spline through displacements D (n, 2) at `ctrl` is G @ D on the crop grid."""
    n = len(ctrl)

    def u(r2):
        return np.where(r2 > 0, 0.5 * r2 * np.log(np.maximum(r2, 1e-12)), 0.0)  # r² log r

    a = np.zeros((n + 3, n + 3))
    a[:n, :n] = u(((ctrl[:, None] - ctrl[None]) ** 2).sum(-1))
    a[:n, n] = 1
    a[:n, n + 1:] = ctrl
    a[n, :n] = 1
    a[n + 1:, :n] = ctrl.T
    a[:n, :n] += 1e-3 * np.eye(n)  # a little smoothing keeps close points from folding the warp
    inv = np.linalg.inv(a)[:, :n]  # (n+3, n)
    ys, xs = np.mgrid[0:CROP_H, 0:CROP_W]
    grid = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)  # (H·W, 2)
    e = np.concatenate([u(((grid[:, None] - ctrl[None]) ** 2).sum(-1)), np.ones((len(grid), 1)), grid], 1)
    return e @ inv  # (H·W, n)


def render_clip(sentence: str, speaker: Speaker, seed: int, rate: float | None = None) -> np.ndarray:
    """(75, 50, 100, 3) uint8 mouth crops of `speaker` saying `sentence` (pose, light and rate drawn from seed)."""
    import cv2

    rng = np.random.default_rng(seed)
    rate = rate if rate is not None else float(rng.uniform(0.8, 1.25))
    track = timeline(sentence, rng, rate)  # (T, 5)
    photo, lips = _face(speaker.face)
    if speaker.mirror:
        photo = photo[:, ::-1].copy()
        lips = lips.copy()
        lips[:, 0] = photo.shape[1] - 1 - lips[:, 0]
        swap = np.r_[O_R, O_UP[::-1], O_L, O_LO[::-1], I_R, I_UP[::-1], I_L, I_LO[::-1]]
        lips = lips[swap]
    # crop transform: the corners to their crop places, then the speaker's mouth size and this clip's head pose
    left, right = lips[O_L], lips[O_R]
    p0, p1 = complex(*left), complex(*right)
    angle = math.radians(rng.normal(0, 4.0))
    scale = speaker.size * rng.uniform(0.92, 1.08)
    centre = complex((MOUTH_LEFT + MOUTH_RIGHT) / 2 + rng.normal(0, 2.0), MOUTH_Y + rng.normal(0, 1.5))
    half = (MOUTH_RIGHT - MOUTH_LEFT) / 2 * scale * complex(math.cos(angle), math.sin(angle))
    q0, q1 = centre - half, centre + half
    a = (q1 - q0) / (p1 - p0)
    b = q0 - a * p0
    m = np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])
    base = cv2.warpAffine(photo, m, (CROP_W, CROP_H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
    pts = lips @ m[:, :2].T + m[:, 2]  # (40, 2) in the crop
    border = np.array([(x, y) for x in np.linspace(0, CROP_W - 1, 6) for y in (0, CROP_H - 1)]
                      + [(x, y) for x in (0, CROP_W - 1) for y in np.linspace(0, CROP_H - 1, 4)[1:-1]])
    ctrl = np.concatenate([pts, border])
    basis = _tps_basis(ctrl)  # (H·W, n)
    width = np.linalg.norm(pts[I_R] - pts[I_L])
    up, lo = pts[I_UP], pts[I_LO]  # (9, 2) paired columns
    mid = (up + lo) / 2
    profile = np.sin(np.pi * np.arange(1, 10) / 10)  # opening is largest in the middle
    cx = (pts[O_L, 0] + pts[O_R, 0]) / 2

    disp = np.zeros((FRAMES, len(ctrl), 2))
    for f, (opening, spread, rounding, _, _) in enumerate(track):
        gap = opening * 0.5 * width * profile ** (0.8 - 0.5 * rounding)  # (9,)
        d = disp[f]
        d[I_UP, 1] = mid[:, 1] - 0.35 * gap - up[:, 1]
        d[I_LO, 1] = mid[:, 1] + 0.65 * gap - lo[:, 1]
        d[O_UP, 1] = 0.8 * d[I_UP, 1] - 0.08 * width * rounding
        d[O_LO, 1] = 1.0 * d[I_LO, 1] + 0.08 * width * rounding
        d[:40, 0] = (pts[:, 0] - cx) * (0.15 * spread - 0.3 * rounding)
    drift = np.cumsum(rng.normal(0, 0.25, (FRAMES, 2)), 0)  # slow head motion, pixels
    fields = (basis @ disp.transpose(1, 0, 2).reshape(len(ctrl), -1)).reshape(CROP_H, CROP_W, FRAMES, 2)
    ys, xs = np.mgrid[0:CROP_H, 0:CROP_W].astype(np.float32)
    maps = np.stack([xs, ys], -1)[None] - fields.transpose(2, 0, 1, 3) - drift[:, None, None, :]
    maps = maps.astype(np.float32)  # (T, H, W, 2): where each output pixel samples the photo crop

    # the look: colour cast, skin tone, light from one side, noise
    gain = speaker.tone * rng.uniform(0.8, 1.2) * np.array([1 + speaker.hue, 1.0, 1 - speaker.hue])
    gain = gain * rng.uniform(0.93, 1.07, 3)
    ramp = 1 + rng.uniform(-0.25, 0.25) * (xs / CROP_W - 0.5) + rng.uniform(-0.15, 0.15) * (ys / CROP_H - 0.5)
    light = (gain[None, None, :] * ramp[..., None]).astype(np.float32)  # (H, W, 3)
    noise = rng.standard_normal((FRAMES, CROP_H, CROP_W, 3), dtype=np.float32) * np.float32(rng.uniform(1.0, 5.0))
    teeth_colour = np.array([215, 205, 190]) * rng.uniform(0.8, 1.05)
    cavity_colour = np.array([55, 22, 28]) * rng.uniform(0.6, 1.3)
    tongue_colour = np.array([165, 75, 80]) * rng.uniform(0.8, 1.1)
    ring = np.r_[I_L, I_UP, I_R, I_LO[::-1]]
    frames = np.empty((FRAMES, CROP_H, CROP_W, 3), np.uint8)
    for f in range(FRAMES):
        img = cv2.remap(base, maps[f], None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        opening, _, _, teeth, tongue = track[f]
        target = pts + disp[f, :40] + drift[f]  # lips where they are drawn now
        mask = np.zeros((CROP_H * 4, CROP_W * 4), np.uint8)
        cv2.fillPoly(mask, [np.round(target[ring] * 4).astype(np.int32)], 255, cv2.LINE_AA)
        mask = cv2.resize(mask, (CROP_W, CROP_H), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        if mask.max() > 0.05:
            gap_mid = float(target[I_LO[4], 1] - target[I_UP[4], 1])
            inside = np.empty_like(img)
            inside[:] = cavity_colour.astype(np.float32)
            shade = np.clip((ys - target[I_UP[4], 1]) / max(gap_mid, 1.0), 0, 1)[..., None].astype(np.float32)
            upper_line = np.interp(xs[0], target[[I_L, *I_UP, I_R], 0], target[[I_L, *I_UP, I_R], 1])[None]
            teeth_band = ((ys - upper_line) < teeth * max(gap_mid, 1.0) * 0.55).astype(np.float32)[..., None]
            inside = inside * (1 - teeth_band) + teeth_colour * teeth_band * (0.9 - 0.3 * shade)
            if tongue > 0.05:
                tongue_mask = np.zeros((CROP_H, CROP_W), np.float32)
                cx_t, cy_t = target[I_LO[4]]
                cv2.ellipse(tongue_mask, (int(cx_t), int(cy_t)), (int(0.25 * width), int(0.2 * gap_mid + 1)), 0, 180,
                            360, tongue, -1)
                inside = inside * (1 - tongue_mask[..., None]) + tongue_colour * tongue_mask[..., None]
            inside = cv2.GaussianBlur(inside, (3, 3), 0.7)
            img = img * (1 - mask[..., None]) + inside * mask[..., None]
        img = img * light + noise[f]
        frames[f] = np.clip(img, 0, 255).astype(np.uint8)
    return frames


# ------------------------------------------------------------------------------------------------- splits


def overlapped_test_sentence(sentence: str) -> bool:
    """1 sentence in 16 is never spoken in training by the training speakers: their clips make the overlapped
    test (the paper's overlapped split: the same speakers, videos held out)."""
    return zlib.crc32(sentence.encode()) % 16 == 0


def _training_plan(seed: int) -> tuple[str, Speaker, int]:
    """Clip number `seed` of the endless training set: a sentence not held out, said by a training face under
    a look of its own (every clip is a new pseudo-speaker: mirror, colour cast, skin tone, mouth size), and the
    seed of its rate, timing, pose and light."""
    rng = np.random.default_rng([seed, 7])
    while True:
        sentence = random_sentence(rng)
        if not overlapped_test_sentence(sentence):
            break
    face = TRAIN_FACES[rng.integers(len(TRAIN_FACES))]
    look = Speaker(f"{face}-clip{seed}", face, bool(rng.random() < 0.5), float(rng.uniform(-0.15, 0.15)),
                   float(rng.uniform(0.65, 1.3)), float(rng.uniform(0.85, 1.15)))
    return sentence, look, int(rng.integers(2**31))


def training_example(seed: int) -> tuple[np.ndarray, str]:
    """Clip number `seed` of the endless training set and its sentence."""
    sentence, look, clip_seed = _training_plan(seed)
    return render_clip(sentence, look, clip_seed), sentence


def word_frames(sentence: str, spans: list[tuple[float, float]]) -> np.ndarray:
    """(FRAMES,) int: per frame, 1 + the index in ALL_WORDS of the word being said, 0 in silence and pauses."""
    labels = np.zeros(FRAMES, np.int64)
    centres = (np.arange(FRAMES) + 0.5) / FPS
    for word, (start, end) in zip(sentence.split(), spans, strict=True):
        labels[(centres >= start) & (centres < end)] = ALL_WORDS.index(word) + 1
    return labels


def training_words(seed: int) -> np.ndarray:
    """word_frames() of training clip `seed`, from the same draws as its rendering (no pixels rendered)."""
    sentence, _, clip_seed = _training_plan(seed)
    rng = np.random.default_rng(clip_seed)
    rate = float(rng.uniform(0.8, 1.25))  # as render_clip draws it
    return word_frames(sentence, timed_track(sentence, rng, rate)[1])


def test_set(split: str, count: int, seed: int = 2016) -> tuple[np.ndarray, list[str], list[str]]:
    """(clips (N, 75, 50, 100, 3), sentences, speaker names) of the "overlapped" or "unseen" test split."""
    rng = np.random.default_rng([seed, 0 if split == "overlapped" else 1])
    pool = speakers(TRAIN_FACES if split == "overlapped" else UNSEEN_FACES)
    clips, sentences, names = [], [], []
    for i in range(count):
        while True:
            sentence = random_sentence(rng)
            if split != "overlapped" or overlapped_test_sentence(sentence):
                break
        speaker = pool[i % len(pool)]
        clips.append(render_clip(sentence, speaker, int(rng.integers(2**31))))
        sentences.append(sentence)
        names.append(speaker.name)
    return np.stack(clips), sentences, names


def render_cache(folder: str | Path, count: int, log=print) -> tuple[np.ndarray, list[str]]:
    """The first `count` training clips rendered once into FOLDER/clips.u8 (a memory map) + sentences.json.

    Rendering costs more than a small network's training step on a CPU, so training reads clips from this
    cache (resumable: clips already rendered are kept)."""
    from ...core.runtime import progress

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shape = (count, FRAMES, CROP_H, CROP_W, 3)
    path, index = folder / "clips.u8", folder / "sentences.json"
    done: list[str] = json.loads(index.read_text()) if index.is_file() else []
    if path.is_file() and path.stat().st_size != int(np.prod(shape)):
        done = [] if len(done) > count else done
        old = np.memmap(path, np.uint8, "r")
        n_old = old.size // int(np.prod(shape[1:]))
        keep = np.array(old[:min(len(done), n_old, count) * int(np.prod(shape[1:]))])
        path.unlink()
        clips = np.memmap(path, np.uint8, "w+", shape=shape)
        clips.reshape(-1)[:keep.size] = keep
        done = done[:min(len(done), n_old, count)]
    else:
        clips = np.memmap(path, np.uint8, "r+" if path.is_file() else "w+", shape=shape)
    bar = progress(total=count, initial=len(done), desc="render training clips")
    for i in range(len(done), count):
        clips[i], sentence = training_example(i)
        done.append(sentence)
        bar.update(1)
        if (i + 1) % 50 == 0 or i + 1 == count:
            clips.flush()
            index.write_text(json.dumps(done))
    bar.close()
    return np.memmap(path, np.uint8, "r", shape=shape), done
