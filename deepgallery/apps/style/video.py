"""Video style transfer with temporal consistency — Ruder, Dosovitskiy & Brox 2016 (arXiv 1604.08610).

Stylising frames independently flickers: each L-BFGS run lands in a different local optimum. Ruder et
al. carry the previous *stylised* frame over to the current one along the optical flow (ω, the backward
warp, `deepgallery.core.flow`) and

* start the optimisation from ω (Sec. 3.1, "prev-warped" initialisation), and
* add the short-term temporal loss gamma * 1/D sum c (x - ω)^2 (Sec. 3.2, Eq. 7/8; `gatys.temporal_loss`),
  where the mask c is 0 at disocclusions and motion boundaries (`core.flow.consistency_mask`).

The long-term loss over several previous frames (Sec. 3.3) and the multi-pass algorithm (Sec. 3.4) are not
implemented. The fast network needs none of this: it is deterministic per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from deepgallery.core.backbones.images import to_tensor
from deepgallery.core.flow import consistency_mask, optical_flow, warp, warp_previous

from .gatys import TemporalTarget

# stylise_one(frame, ω, c): ω the warped previous result (H, W, 3) uint8 and c its mask (H, W) float32,
# both None for the first frame (or when temporal consistency is off)
StyliseOne = Callable[[np.ndarray, np.ndarray | None, np.ndarray | None], np.ndarray]


def stylise_frames(frames: Iterable[np.ndarray], stylise_one: StyliseOne, temporal: bool = True
                   ) -> Iterator[np.ndarray]:
    """Yield stylised frames; from the second frame on `stylise_one` gets the flow-warped previous result
    ω and the consistency mask c. Frames should already be at the result's size (the flow is computed on
    them; a result of another size is resized to the frames' before warping)."""
    prev_frame = prev_styled = None
    for frame in frames:
        omega = mask = None
        if temporal and prev_styled is not None:
            omega, mask = warp_previous(prev_styled, prev_frame, frame)
        styled = stylise_one(frame, omega, mask)
        prev_frame, prev_styled = frame, styled
        yield styled


def temporal_target(omega: np.ndarray, mask: np.ndarray, device: torch.device | str = "cpu") -> TemporalTarget:
    """ω (H, W, 3) uint8 and c (H, W) float32 as `stylise` takes them: (1, 3, H, W) and (1, 1, H, W) on `device`."""
    return TemporalTarget(to_tensor(omega, device), torch.from_numpy(mask)[None, None].to(device))


def temporal_error(styled: Sequence[np.ndarray], frames: Sequence[np.ndarray]) -> float:
    """Ruder et al.'s temporal consistency error (their Table 1): the temporal loss 1/D sum c (x - ω)^2 of each
    stylised frame against the previous stylised frame warped along the *input* frames' flow, averaged over
    the consecutive pairs. Pixels in [0, 1]; `styled` and `frames` are RGB uint8 (H, W, 3) of the same size.
    """
    errors = []
    for i in range(1, len(frames)):
        backward, forward = optical_flow(frames[i], frames[i - 1]), optical_flow(frames[i - 1], frames[i])
        c = consistency_mask(backward, forward)[..., None]  # (H, W, 1)
        omega = warp(styled[i - 1].astype(np.float32) / 255.0, backward)  # (H, W, 3)
        x = styled[i].astype(np.float32) / 255.0
        errors.append(float((c * (x - omega) ** 2).mean()))
    return float(np.mean(errors)) if errors else 0.0
