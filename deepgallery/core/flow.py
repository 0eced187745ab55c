"""Optical flow for video apps (style, deepdream): flow, backward warping, Ruder et al.'s consistency mask.

Ruder, Dosovitskiy & Brox 2016, "Artistic style transfer for videos" (GCPR, arXiv 1604.08610), carry the
result of frame i-1 over to frame i along the optical flow. Notation of their Sec. 3.2:

    w = (u, v)   forward flow, frame i-1 -> frame i (defined on frame i-1's pixels)
    ŵ = (û, v̂)   backward flow, frame i -> frame i-1 (defined on frame i's pixels)
    w̃(x) = w(x + ŵ(x))   the forward flow warped into frame i

Frames are RGB uint8 (H, W, 3); flows are float32 (H, W, 2) in pixels, channel 0 = x (u), channel 1 = y (v):
pixel (x, y) of the flow's frame is found at (x + u, y + v) in the other frame. The flow is OpenCV's
Farneback (a dense classical method; the paper used DeepFlow and EpicFlow).
"""

from __future__ import annotations

import numpy as np

from .errors import UserError


def _cv2():
    try:
        import cv2
    except ImportError:
        raise UserError("video needs OpenCV for the optical flow: pip install opencv-python-headless") from None
    return cv2


def optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow (H, W, 2) from frame `a` to frame `b` (both RGB uint8 (H, W, 3), same size).

    flow[y, x] = (u, v) says that a's pixel (x, y) is at (x + u, y + v) in b.
    """
    cv2 = _cv2()
    if a.shape != b.shape:
        raise ValueError(f"optical flow between frames of different shapes {a.shape} and {b.shape}")
    ga, gb = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    return cv2.calcOpticalFlowFarneback(ga, gb, None, pyr_scale=0.5, levels=3, winsize=15, iterations=3,
                                        poly_n=5, poly_sigma=1.2, flags=0)  # (H, W, 2) float32


def _sample_grid(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))  # (H, W) each
    return gx + flow[..., 0], gy + flow[..., 1]


def warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warping: out[y, x] = img[y + v, x + u], bilinear, edges replicated.

    img (H, W) or (H, W, C), uint8 or float32, on the grid of the frame the flow points *to*; `flow`
    (H, W, 2) is defined on the grid of the result. Returns img's dtype and channels.
    """
    cv2 = _cv2()
    if img.shape[:2] != flow.shape[:2]:
        raise ValueError(f"warp: image {img.shape[:2]} and flow {flow.shape[:2]} differ in size")
    mx, my = _sample_grid(flow)
    out = cv2.remap(img, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(img.shape)  # remap drops a trailing channel axis of size 1


def consistency_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Ruder et al.'s per-pixel weights c for frame i (Sec. 3.2): (H, W) float32, 0 or 1.

    backward = ŵ (frame i -> i-1, on frame i's pixels), forward = w (frame i-1 -> i, on frame i-1's pixels).
    Going back along ŵ and forward along w̃ = w(x + ŵ) must return to the start; where it does not, the pixel
    was hidden in frame i-1 (a disocclusion):

        |w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5                      (disocclusion)
        |∇ũ|² + |∇ṽ|² > 0.01 |w̃|² + 0.002                        (motion boundary, flow unreliable)

    (coefficients from Sundaram, Brox & Keutzer 2010, as in the paper). c = 0 there and 1 elsewhere. Pixels
    whose backward flow leads outside frame i-1 count as disoccluded too: that content was never seen.
    """
    h, w = backward.shape[:2]
    wt = warp(forward, backward)  # w̃ (H, W, 2)
    occluded = ((wt + backward) ** 2).sum(-1) > 0.01 * ((wt**2).sum(-1) + (backward**2).sum(-1)) + 0.5
    du_dy, du_dx = np.gradient(wt[..., 0])  # central differences, (H, W) each
    dv_dy, dv_dx = np.gradient(wt[..., 1])
    boundary = du_dx**2 + du_dy**2 + dv_dx**2 + dv_dy**2 > 0.01 * (wt**2).sum(-1) + 0.002
    mx, my = _sample_grid(backward)
    outside = (mx < 0) | (mx > w - 1) | (my < 0) | (my > h - 1)
    return (~(occluded | boundary | outside)).astype(np.float32)


def _fit(img: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`img` resized to (H, W) = shape[:2] if it differs (the result may be at another size than the frames)."""
    if img.shape[:2] == shape[:2]:
        return img
    return _cv2().resize(img, (shape[1], shape[0]), interpolation=_cv2().INTER_AREA)


def flow_warp(prev_out: np.ndarray, prev_frame: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """The previous result (H, W, C) carried into the current frame's geometry along the backward flow ŵ.

    For every current pixel ŵ says where it was in the previous frame; sampling the previous result there
    gives ω of Ruder et al. (Sec. 3.1, the warped initialisation). Returned at the frames' size.
    """
    return warp(_fit(prev_out, frame.shape), optical_flow(frame, prev_frame))


def warp_previous(prev_out: np.ndarray, prev_frame: np.ndarray, frame: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(ω, c): the previous result warped into the current frame (as `flow_warp`) and the mask c (H, W)
    of `consistency_mask` — 0 where the warped value cannot be trusted (disocclusions, motion boundaries)."""
    backward = optical_flow(frame, prev_frame)  # ŵ
    forward = optical_flow(prev_frame, frame)  # w
    return warp(_fit(prev_out, frame.shape), backward), consistency_mask(backward, forward)
