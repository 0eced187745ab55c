"""Text readers: a frame (H, W, 3) RGB → text lines with boxes and confidences.

Three backends, chosen with ``--backend``:

- ``rapidocr`` (default): pretrained PP-OCR detector + recogniser (ONNX, inside the PyPI `rapidocr` wheel).
- ``tesseract``: the Tesseract 5 engine (Debian `tesseract-ocr`) through `pytesseract`.
- ``jaderberg``: the paper's own DICT word recogniser (model.py, trained on synthetic data only) on word
  boxes. Deviation: the paper proposes words with EdgeBoxes + an ACF detector, filters them with a random
  forest and refines them with a regression CNN (Sec. 3); we take PP-OCR's detector for line boxes and
  split lines into words at wide gaps of the ink profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepgallery.core.errors import UserError, unknown_name_error

BACKENDS = ("rapidocr", "tesseract", "jaderberg")


@dataclass
class Line:
    """One text line seen in one frame."""

    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels
    conf: float  # 0..1


class Reader:
    """Interface: `read(frame) -> list[Line]`."""

    name = "reader"

    def read(self, frame: np.ndarray) -> list[Line]:  # frame (H, W, 3) uint8 RGB
        raise NotImplementedError


def _quad_to_box(quad) -> tuple[float, float, float, float]:
    q = np.asarray(quad, np.float32).reshape(-1, 2)
    return float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())


def _plausible(line: Line, frame_height: int) -> bool:
    """A text line has two letters or digits and is not taller than 40% of the frame (a whole-frame box,
    or Tesseract reading "/" in a texture, is noise)."""
    return sum(c.isalnum() for c in line.text) >= 2 and (line.box[3] - line.box[1]) <= 0.4 * frame_height


class RapidOCRReader(Reader):
    """PP-OCR (DB text detector + SVTR/CRNN recogniser) through rapidocr, run at the frame's own size."""

    name = "rapidocr"

    def __init__(self, min_confidence: float = 0.5, max_side: int = 1280, threads: int = 2):
        try:
            from rapidocr import RapidOCR
        except ModuleNotFoundError:
            raise UserError("the rapidocr backend needs `pip install rapidocr onnxruntime`") from None
        self.min_confidence = min_confidence
        self.engine = RapidOCR(params={
            "Global.use_cls": False, "Global.log_level": "error", "Global.text_score": min_confidence,
            "Det.limit_type": "max", "Det.limit_side_len": max_side,  # never upscale (default: min side 736)
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        })

    def detect(self, frame: np.ndarray) -> list[tuple[float, float, float, float]]:
        """Line boxes only (used by the jaderberg backend)."""
        out = self.engine(frame, use_det=True, use_cls=False, use_rec=False)
        return [] if out.boxes is None else [_quad_to_box(q) for q in out.boxes]

    def recognise(self, crop: np.ndarray) -> tuple[str, float]:
        """Text of one cropped word/line image (no detection)."""
        out = self.engine(crop, use_det=False, use_cls=False, use_rec=True)
        if not out.txts:
            return "", 0.0
        return str(out.txts[0]), float(out.scores[0])

    def read(self, frame: np.ndarray) -> list[Line]:
        out = self.engine(frame, use_det=True, use_cls=False, use_rec=True)
        if out.txts is None:
            return []
        lines = [Line(str(t).strip(), _quad_to_box(q), float(s))
                 for t, q, s in zip(out.txts, out.boxes, out.scores, strict=True)]
        return [ln for ln in lines if ln.conf >= self.min_confidence and _plausible(ln, frame.shape[0])]


class TesseractReader(Reader):
    """Tesseract 5 (LSTM engine), sparse-text page mode; words are grouped back into its text lines."""

    name = "tesseract"

    def __init__(self, min_confidence: float = 0.5, lang: str = "eng"):
        import shutil

        try:
            import pytesseract
        except ModuleNotFoundError:
            raise UserError("the tesseract backend needs `pip install pytesseract`") from None
        if shutil.which("tesseract") is None:
            raise UserError("the tesseract backend needs the tesseract program: apt-get install tesseract-ocr")
        self.tess, self.lang, self.min_confidence = pytesseract, lang, min_confidence

    def read(self, frame: np.ndarray) -> list[Line]:
        d = self.tess.image_to_data(frame, lang=self.lang, config="--psm 11",
                                    output_type=self.tess.Output.DICT)
        lines: dict[tuple, list[int]] = {}
        for i, word in enumerate(d["text"]):
            if word.strip() and float(d["conf"][i]) / 100.0 >= self.min_confidence:
                lines.setdefault((d["block_num"][i], d["par_num"][i], d["line_num"][i]), []).append(i)
        out = []
        for idx in lines.values():
            x0 = min(d["left"][i] for i in idx)
            y0 = min(d["top"][i] for i in idx)
            x1 = max(d["left"][i] + d["width"][i] for i in idx)
            y1 = max(d["top"][i] + d["height"][i] for i in idx)
            conf = float(np.mean([float(d["conf"][i]) / 100.0 for i in idx]))
            out.append(Line(" ".join(d["text"][i].strip() for i in idx), (x0, y0, x1, y1), conf))
        return [ln for ln in out if _plausible(ln, frame.shape[0])]


def split_words(grey: np.ndarray, gap_ratio: float = 0.33) -> list[tuple[int, int]]:
    """Column ranges [(x0, x1)] of the words in a line crop (h, w): ink columns separated by gaps wider
    than `gap_ratio` × line height. Ink is the Otsu-thresholded minority class (light or dark text)."""
    import cv2

    h, w = grey.shape
    _, bw = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = bw > 0
    if ink.mean() > 0.5:  # text is the minority
        ink = ~ink
    cols = ink[int(h * 0.15):int(h * 0.85) + 1].sum(0) > 0  # (w,) ignore the crop's border rows
    words, start, gap = [], None, 0
    for x, on in enumerate(cols):
        if on:
            if start is None:
                start = x
            gap = 0
        elif start is not None:
            gap += 1
            if gap > gap_ratio * h:
                words.append((start, x - gap + 1))
                start, gap = None, 0
    if start is not None:
        words.append((start, w - gap))
    return [(a, b) for a, b in words if b - a >= 2] or [(0, w)]


class JaderbergReader(Reader):
    """PP-OCR line detection → word split → the paper's DICT CNN (argmax over the dictionary, Eq. 5)."""

    name = "jaderberg"

    def __init__(self, min_confidence: float = 0.5, checkpoint_path=None, device="cpu"):
        import torch

        from .model import load_recogniser
        from .synth import to_model_input

        self.torch, self.to_input, self.device = torch, to_model_input, torch.device(device)
        model, self.words = load_recogniser(checkpoint_path)
        self.model = model.to(self.device)
        self.detector = RapidOCRReader(min_confidence=0.0)
        self.min_confidence = min_confidence

    def classify(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Word crops (h, w, 3) → (dictionary word, softmax probability) each."""
        if not crops:
            return []
        x = np.stack([self.to_input(c) for c in crops])[:, None]  # (B, 1, 32, 100)
        with self.torch.no_grad():
            p = self.model(self.torch.from_numpy(x).to(self.device)).softmax(1).cpu()  # (B, N)
        conf, idx = p.max(1)
        return [(self.words[i], float(c)) for i, c in zip(idx.tolist(), conf.tolist(), strict=True)]

    def read(self, frame: np.ndarray) -> list[Line]:
        from PIL import Image

        grey = np.asarray(Image.fromarray(frame).convert("L"))
        lines = []
        for x0, y0, x1, y1 in self.detector.detect(frame):
            # PP-OCR's boxes are dilated ("unclipped"); the CNN was trained on tighter crops
            h = y1 - y0
            xa, ya = int(max(0, x0 + 0.05 * h)), int(max(0, y0 + 0.1 * h))
            xb, yb = int(x1 - 0.05 * h) + 1, int(y1 - 0.1 * h) + 1
            if yb - ya < 6 or xb - xa < 6:
                continue
            spans = split_words(grey[ya:yb, xa:xb])
            if len(spans) == 1:
                spans = [(0, xb - xa)]  # one word: keep the box's own margin
            pad = int(0.1 * (yb - ya))
            crops = [frame[ya:yb, max(xa, xa + a - pad):xa + b + pad] for a, b in spans]
            words = [(w, c) for w, c in self.classify(crops) if c >= self.min_confidence]
            if words:
                lines.append(Line(" ".join(w for w, _ in words), (x0, y0, x1, y1),
                                  float(np.mean([c for _, c in words]))))
        return lines


def make_reader(name: str, min_confidence: float = 0.5, device: str = "cpu") -> Reader:
    """The reader called `name` (one of BACKENDS); `device` (a --device choice) is where the jaderberg
    backend's CNN runs (the others are ONNX Runtime or Tesseract on the CPU)."""
    if name == "rapidocr":
        return RapidOCRReader(min_confidence)
    if name == "tesseract":
        return TesseractReader(min_confidence)
    if name == "jaderberg":
        # the DICT softmax spreads over many look-alike words, so its probabilities run lower than PP-OCR's
        # scores: the CLI's default 0.5 maps to 0.2 here
        from deepgallery.core.runtime import choose_device

        return JaderbergReader(0.4 * min_confidence, device=choose_device(device))
    raise unknown_name_error("backend", name, BACKENDS)
