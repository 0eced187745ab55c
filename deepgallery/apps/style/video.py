"""Video style transfer with temporal consistency (Ruder, Dosovitskiy & Brox 2016, Sec. 3.1 initialisation).

Stylising frames independently flickers: each L-BFGS run lands in a different local optimum. Ruder et
al. start each frame from the previous *stylised* frame warped along the optical flow, so the optimiser
stays near the last solution where the scene did not change. We do that (Farneback flow from OpenCV,
backward warping); the paper's additional temporal loss with occlusion masks is not implemented.
The fast network needs none of this: it is deterministic per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from deepgallery.core.errors import UserError


def flow_warp(prev_styled: np.ndarray, prev_frame: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Warp the previous stylised frame (H, W, 3) uint8 into the current frame's geometry.

    Backward flow from the current frame to the previous one tells, for every current pixel, where it
    was; sampling the previous stylised frame there gives the initialisation.
    """
    try:
        import cv2
    except ImportError:
        raise UserError("video style transfer needs OpenCV: pip install opencv-python-headless") from None
    g_now = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    g_prev = cv2.cvtColor(prev_frame, cv2.COLOR_RGB2GRAY)
    flow = cv2.calcOpticalFlowFarneback(g_now, g_prev, None, pyr_scale=0.5, levels=3, winsize=15, iterations=3,
                                        poly_n=5, poly_sigma=1.2, flags=0)  # (H, W, 2): current -> previous
    h, w = g_now.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(prev_styled, gx + flow[..., 0], gy + flow[..., 1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def stylise_frames(frames: Iterator[np.ndarray], stylise_one: Callable[[np.ndarray, np.ndarray | None], np.ndarray],
                   temporal: bool = True) -> Iterator[np.ndarray]:
    """Yield stylised frames; `stylise_one(frame, init)` gets the flow-warped previous result as `init`."""
    prev_frame = prev_styled = None
    for frame in frames:
        init = None
        if temporal and prev_styled is not None:
            init = flow_warp(prev_styled, prev_frame, frame)
        styled = stylise_one(frame, init)
        prev_frame, prev_styled = frame, styled
        yield styled
