"""CIE L*a*b* in PyTorch (sRGB, D65 white): the colour space the network works in (Iizuka et al. 2016, Sec. 3).

The network sees the lightness L* (0..100) and predicts the chrominance a*b*; the output image is the input's
own L* with the predicted a*b*, so the picture's detail is never touched, only its colour. Functions take and
return float tensors (B, 3, H, W) (RGB in [0, 1]) and work on any device, so training on a GPU needs no NumPy.

Normalisation (the paper: "the output layer uses a Sigmoid transfer function ... normalised to [0, 1]"):
L* / 100 is the input, (a*b* / AB_RANGE + 1) / 2 the sigmoid target; AB_RANGE = 110 covers the sRGB gamut
(|a*|, |b*| <= ~108 for sRGB colours).
"""

from __future__ import annotations

import numpy as np
import torch

AB_RANGE = 110.0
_WHITE = (0.95047, 1.0, 1.08883)  # D65 reference white (X_n, Y_n, Z_n)
_RGB_TO_XYZ = ((0.412453, 0.357580, 0.180423),
               (0.212671, 0.715160, 0.072169),
               (0.019334, 0.119193, 0.950227))
_EPS = (6.0 / 29.0) ** 3


def _srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= 0.04045, c / 12.92, ((c.clamp(min=0) + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    c = c.clamp(0.0, 1.0)
    return torch.where(c <= 0.0031308, 12.92 * c, 1.055 * c.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> (B, 3, H, W) L* in [0, 100], a*, b* in about [-110, 110]."""
    lin = _srgb_to_linear(rgb)
    m = torch.tensor(_RGB_TO_XYZ, dtype=rgb.dtype, device=rgb.device)
    xyz = torch.einsum("ij,bjhw->bihw", m, lin)  # (B, 3, H, W)
    xyz = xyz / torch.tensor(_WHITE, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    f = torch.where(xyz > _EPS, xyz.clamp(min=_EPS) ** (1 / 3), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) L*a*b* -> (B, 3, H, W) sRGB in [0, 1] (out-of-gamut colours clipped)."""
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=1)  # (B, 3, H, W)
    xyz = torch.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29))
    xyz = xyz * torch.tensor(_WHITE, dtype=lab.dtype, device=lab.device).view(1, 3, 1, 1)
    m_inv = torch.linalg.inv(torch.tensor(_RGB_TO_XYZ, dtype=torch.float64)).to(lab)
    return _linear_to_srgb(torch.einsum("ij,bjhw->bihw", m_inv, xyz))


def normalise_l(L: torch.Tensor) -> torch.Tensor:
    """L* (0..100) -> the network's input in [0, 1]."""
    return L / 100.0


def ab_to_unit(ab: torch.Tensor) -> torch.Tensor:
    """a*b* -> the sigmoid's range [0, 1] (the training target)."""
    return (ab / AB_RANGE + 1.0) / 2.0


def unit_to_ab(unit: torch.Tensor) -> torch.Tensor:
    """The network's sigmoid output -> a*b*."""
    return (unit * 2.0 - 1.0) * AB_RANGE


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """RGB uint8 (H, W, 3) or (N, H, W, 3) -> float (N, 3, H, W) in [0, 1]."""
    arr = np.asarray(images)
    if not arr.flags.writeable:  # torch wants a writable buffer (a PIL image's array is read-only)
        arr = arr.copy()
    if arr.ndim == 3:
        arr = arr[None]
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float() / 255.0


def to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [0, 1] -> RGB uint8 (N, H, W, 3)."""
    return (rgb.detach().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)


# Fast NumPy paths for whole pictures at run time (uint8 in or out): the sRGB curve as lookup tables.
_SRGB_TO_LINEAR = np.where(np.arange(256) / 255 <= 0.04045, np.arange(256) / 255 / 12.92,
                           ((np.arange(256) / 255 + 0.055) / 1.055) ** 2.4).astype(np.float32)  # uint8 -> linear
_LINEAR_STEPS = 16384  # linear -> sRGB uint8 table resolution (< 0.25 grey level error in the darks)
_LINEAR_TO_SRGB = (_linear_to_srgb(torch.linspace(0, 1, _LINEAR_STEPS, dtype=torch.float64)).numpy() * 255 + 0.5
                   ).astype(np.uint8)


def _f(t: np.ndarray) -> np.ndarray:
    return np.where(t > _EPS, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29).astype(np.float32)


def lab_of(rgb_uint8: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (H, W, 3) float32 of an RGB uint8 image (the same numbers as `rgb_to_lab`)."""
    lin = _SRGB_TO_LINEAR[rgb_uint8]  # (H, W, 3)
    xyz = lin @ (np.array(_RGB_TO_XYZ, np.float32).T / np.array(_WHITE, np.float32)[None, :])
    f = _f(xyz)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lightness(rgb_uint8: np.ndarray) -> np.ndarray:
    """L* (H, W) float32 of an RGB uint8 image (a grayscale picture's L* is its whole content)."""
    y = _SRGB_TO_LINEAR[rgb_uint8] @ np.array(_RGB_TO_XYZ[1], np.float32)  # relative luminance Y (Y_n = 1)
    return (116 * _f(y) - 16).astype(np.float32)


def ab_of(rgb_uint8: np.ndarray) -> np.ndarray:
    """a*b* (H, W, 2) float32 of an RGB uint8 image."""
    return np.ascontiguousarray(lab_of(rgb_uint8)[..., 1:])


def compose(L: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) from L* (H, W) and a*b* (H, W, 2) (out-of-gamut colours clipped)."""
    fy = (L.astype(np.float32) + 16) / 116
    f = np.stack([fy + ab[..., 0] / 500, fy, fy - ab[..., 1] / 200], axis=-1)  # (H, W, 3)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * np.array(_WHITE, np.float32)
    lin = xyz @ np.linalg.inv(np.array(_RGB_TO_XYZ)).T.astype(np.float32)
    index = np.clip(lin * (_LINEAR_STEPS - 1) + 0.5, 0, _LINEAR_STEPS - 1).astype(np.int32)
    return _LINEAR_TO_SRGB[index]


def gray_rgb(rgb_uint8: np.ndarray) -> np.ndarray:
    """The grayscale picture a colorizer sees (L* kept, a*b* = 0) as RGB uint8 (H, W, 3)."""
    L = lightness(rgb_uint8)
    return compose(L, np.zeros(L.shape + (2,), np.float32))
