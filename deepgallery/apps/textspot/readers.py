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
DET_SIDE = 640  # px, longer side of the copy of a video frame the text detector sees (README: "Speed")


@dataclass
class Line:
    """One text line seen in one frame."""

    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels
    conf: float  # 0..1


class Reader:
    """Interface: `read(frame) -> list[Line]`; `reset()` forgets anything kept from earlier frames."""

    name = "reader"

    def read(self, frame: np.ndarray) -> list[Line]:  # frame (H, W, 3) uint8 RGB
        raise NotImplementedError

    def reset(self) -> None:  # noqa: B027 - optional
        pass


def _quad_to_box(quad) -> tuple[float, float, float, float]:
    q = np.asarray(quad, np.float32).reshape(-1, 2)
    return float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())


def _plausible(line: Line, frame_height: int) -> bool:
    """A text line has two letters or digits and is not taller than 40% of the frame (a whole-frame box,
    or Tesseract reading "/" in a texture, is noise)."""
    return sum(c.isalnum() for c in line.text) >= 2 and (line.box[3] - line.box[1]) <= 0.4 * frame_height


class RapidOCRReader(Reader):
    """PP-OCR (DB text detector + SVTR/CRNN recogniser) through rapidocr.

    Fast path (`det_side` > 0, the default): the detector runs on a copy of the frame downscaled to
    `det_side` px on its longer side (detection cost grows with the pixel count; text 28 px high in 1080p is
    still 14 px there), the boxes are scaled back and the recogniser reads crops of the *full-resolution* frame
    (small text keeps its pixels), all of a frame's new boxes in one batch. A box whose crop looks like one
    already read on the previous frame (same place within 2 px, every band of its pixels within `reuse_diff`
    grey levels: a still caption on a moving screen) keeps that reading and is not recognised again.
    The text of 1080p video is 28 px high and more (tickers, lower thirds, slide text); at 640 px it is 9 px,
    which the DB detector still finds. `det_side=0` is the old path: rapidocr's whole pipeline on the frame as
    given (the indexer's old settings downscale frames to 1280 px first).
    """

    name = "rapidocr"

    def __init__(self, min_confidence: float = 0.5, max_side: int = 1280, threads: int = 2, det_side: int = DET_SIDE,
                 reuse: bool = True, reuse_diff: float = 4.0, rec_batch: int = 16):
        try:
            from rapidocr import RapidOCR
        except ModuleNotFoundError:
            raise UserError("the rapidocr backend needs `pip install rapidocr onnxruntime`") from None
        self.min_confidence, self.det_side, self.reuse, self.reuse_diff = min_confidence, det_side, reuse, reuse_diff
        self.engine = RapidOCR(params={
            "Global.use_cls": False, "Global.log_level": "error", "Global.text_score": min_confidence,
            "Det.limit_type": "max", "Det.limit_side_len": max_side,  # never upscale (default: min side 736)
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "Rec.rec_batch_num": rec_batch if det_side else 6,
        })
        self.seconds = {"detect": 0.0, "recognise": 0.0}  # where the reading time goes (the bench reports it)
        self.boxes_read = self.boxes_reused = 0
        self._previous: list[tuple] = []  # (box, grey crop, text, conf) of the boxes of the last frame read

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
        import time

        if not self.det_side:
            t0 = time.perf_counter()
            out = self.engine(frame, use_det=True, use_cls=False, use_rec=True)
            self.seconds["detect"] += time.perf_counter() - t0  # detection + recognition, not separable here
            if out.txts is None:
                return []
            lines = [Line(str(t).strip(), _quad_to_box(q), float(s))
                     for t, q, s in zip(out.txts, out.boxes, out.scores, strict=True)]
            self.boxes_read += len(lines)
            return [ln for ln in lines if ln.conf >= self.min_confidence and _plausible(ln, frame.shape[0])]
        t0 = time.perf_counter()
        quads = self._detect_scaled(frame)  # (N, 4, 2) in full-frame pixels
        t1 = time.perf_counter()
        self.seconds["detect"] += t1 - t0
        lines = self._recognise_boxes(frame, quads)
        self.seconds["recognise"] += time.perf_counter() - t1
        return [ln for ln in lines if ln.conf >= self.min_confidence and _plausible(ln, frame.shape[0])]

    def _detect_scaled(self, frame: np.ndarray) -> np.ndarray:
        """DB detection on a copy at most `det_side` px long; quads (N, 4, 2) in the frame's own pixels."""
        import cv2

        h, w = frame.shape[:2]
        scale = min(1.0, self.det_side / max(h, w))
        small = frame if scale == 1.0 else cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                      interpolation=cv2.INTER_AREA)
        det = self.engine._load_det_model()(cv2.cvtColor(small, cv2.COLOR_RGB2BGR))  # PP-OCR was trained on BGR
        if det.boxes is None or len(det.boxes) == 0:
            return np.zeros((0, 4, 2), np.float32)
        quads = np.asarray(det.boxes, np.float32) / scale
        quads[..., 0] = quads[..., 0].clip(0, w - 1)
        quads[..., 1] = quads[..., 1].clip(0, h - 1)
        return quads

    def _recognise_boxes(self, frame: np.ndarray, quads: np.ndarray) -> list[Line]:
        """Read each box's full-resolution crop, re-using the previous frame's reading of an identical crop."""
        import cv2
        from rapidocr.ch_ppocr_rec import TextRecInput
        from rapidocr.utils.process_img import get_rotate_crop_image

        crops, thumbs, results = [], [], []
        for q in quads:
            crop = get_rotate_crop_image(frame, q.copy())  # (h, w, 3) RGB, rotated upright
            thumbs.append((_quad_to_box(q), cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)))
            crops.append(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            results.append(self._reused(*thumbs[-1]) if self.reuse else None)
        todo = [i for i, r in enumerate(results) if r is None]
        for group in _similar_widths(todo, [c.shape[1] / max(1, c.shape[0]) for c in crops]):
            # one batch per group of similar aspect: a batch is padded to its widest crop, and a long ticker
            # line padding four short words would cost four ticker lines
            out = self.engine._load_rec_model()(TextRecInput(img=[crops[i] for i in group]))
            for i, text, score in zip(group, out.txts, out.scores, strict=True):
                results[i] = (str(text).strip(), float(score))
        self.boxes_read += len(todo)
        self.boxes_reused += len(quads) - len(todo)
        self._previous = [(*t, *r) for t, r in zip(thumbs, results, strict=True)]
        return [Line(text, _quad_to_box(q), conf) for q, (text, conf) in zip(quads, results, strict=True) if text]

    def _reused(self, box: tuple[float, float, float, float], grey: np.ndarray) -> tuple[str, float] | None:
        """The previous frame's reading of the same box (corners within 2 px) whose pixels did not change: every
        column band a third of the box height wide differs by less than `reuse_diff` grey levels on average.
        Per band, not over the whole crop: "Slide 5 of 11" differs from "Slide 4 of 11" in one glyph, which a
        whole-crop average hides (2.6 levels) and a band holding that glyph does not."""
        for old_box, old, text, conf in self._previous:
            if old.shape != grey.shape or max(abs(a - b) for a, b in zip(old_box, box, strict=True)) > 2:
                continue
            band = max(2, grey.shape[0] // 3)
            diff = np.abs(old - grey).mean(0)  # (w,) mean change per column
            n = -(-len(diff) // band) * band  # whole bands, the last one padded with no change
            bands = np.pad(diff, (0, n - len(diff))).reshape(-1, band).mean(1)
            if float(bands.max()) < self.reuse_diff:
                return text, conf
        return None

    def reset(self) -> None:
        """A new video or a shot cut: nothing from before is re-used."""
        self._previous = []


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


def _similar_widths(indices: list[int], ratios: list[float], spread: float = 1.5,
                    batch: int = 16) -> list[list[int]]:
    """`indices` in batches of at most `batch` whose width/height ratios differ by at most `spread` times;
    ratios under 320/48 count as 320/48 (the recogniser pads every crop to at least 320×48)."""
    groups: list[list[int]] = []
    for i in sorted(indices, key=lambda i: ratios[i]):
        r = max(ratios[i], 320 / 48)
        if groups and len(groups[-1]) < batch and r <= spread * max(ratios[groups[-1][0]], 320 / 48):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def make_reader(name: str, min_confidence: float = 0.5, device: str = "cpu", det_side: int = DET_SIDE,
                reuse: bool = True, threads: int = 2) -> Reader:
    """The reader called `name` (one of BACKENDS); `device` (a --device choice) is where the jaderberg
    backend's CNN runs (the others are ONNX Runtime or Tesseract on the CPU). `det_side`, `reuse`, `threads`:
    see RapidOCRReader (det_side=0, reuse=False: the old settings)."""
    if name == "rapidocr":
        return RapidOCRReader(min_confidence, det_side=det_side, reuse=reuse, threads=threads)
    if name == "tesseract":
        return TesseractReader(min_confidence)
    if name == "jaderberg":
        # the DICT softmax spreads over many look-alike words, so its probabilities run lower than PP-OCR's
        # scores: the CLI's default 0.5 maps to 0.2 here
        from deepgallery.core.runtime import choose_device

        return JaderbergReader(0.4 * min_confidence, device=choose_device(device))
    raise unknown_name_error("backend", name, BACKENDS)
