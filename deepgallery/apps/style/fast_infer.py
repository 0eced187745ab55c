"""The trained TransformNet (fast.py) rearranged for CPU inference: the same function, fewer and cheaper kernels.

Profiling `TransformNet.forward` at 512x512 on one CPU thread (torch 2.13, oneDNN; process CPU time, ~500 ms in
all) showed where the time goes (the README has the table):

* nearest upsampling + 3x3 conv (~150 ms) runs the conv on the upsampled image: 9 taps per output pixel of which
  only 4 distinct input pixels exist, plus the upsampled copy;
* the 9x9 output conv C -> 3 at full resolution (~120 ms): oneDNN pads the output channels to its vector width
  (16), so 3 output channels cost as much as 16;
* instance norm (15 layers, ~47 ms) and NCHW <-> blocked layout reorders around every conv;
* the residual trunk's 3x3 convs (~140 ms) already run near the core's peak (~52 GMAC/s): left to oneDNN.

What this module does instead (all exact rewrites: no retraining, the same checkpoints, output equal to
`TransformNet.forward` up to float rounding, ~1e-6); together ~256 ms:

1. Channels-last (NHWC) tensors throughout, so oneDNN needs no layout reorders between layers.
2. Upsample-then-conv as four 2x2 "phase" convs on the low-resolution map (the sub-pixel view of Shi et al. 2016):
   for output row 2i+a, the 3 kernel rows fall on only 2 input rows, so kernel rows (k0, k1+k2) for a = 0 and
   (k0+k1, k2) for a = 1 (the same for columns), applied to the small map padded by replication (reflecting the
   upsampled map by 1 pixel is replicating the small map by 1 pixel). 4/9 of the multiply-adds, no upsampled copy.
3. The 9x9 C -> 3 output conv as a 9x1 conv C -> 27 (3 channels x 9 kernel columns) followed by a sum over 9
   shifted columns: the same multiply-adds, in a shape oneDNN runs without wasted lanes.
4. Instance norm (+ ReLU) in place on the conv output: cascaded per-channel sums, the sum of squares in chunks.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .fast import ResidualBlock, TransformNet

CL = torch.channels_last


def instance_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, relu: bool,
                  eps: float = 1e-5) -> torch.Tensor:
    """F.instance_norm(x, weight=weight, bias=bias, eps=eps) (then ReLU) for a channels-last (B, C, H, W) tensor.

    Works in place: x is overwritten (here it is always a fresh conv output). The sum of squares is taken in chunks
    of 32k pixels: a temporary of the whole map's size costs more in page faults than the arithmetic (measured).
    Both sums use PyTorch's cascaded reductions; a plain matrix-vector product (ones @ X) was faster but lost ~1e-4
    relative precision on 512x512 maps.
    """
    b, c, h, w = x.shape
    n = h * w
    flat = x.permute(0, 2, 3, 1).reshape(b, n, c)  # (B, HW, C), a view for channels-last input
    flat.sub_(flat.sum(1, keepdim=True).div_(n))  # centred: minus the (B, 1, C) mean
    step = 1 << 15
    var = sum(flat[:, i:i + step].square().sum(1, keepdim=True) for i in range(0, n, step)).div_(n)  # biased
    flat.mul_(weight * torch.rsqrt(var + eps)).add_(bias)
    if relu:
        flat.relu_()
    return x


def _phase_weights(w: torch.Tensor) -> list[torch.Tensor]:
    """(Cout, Cin, 3, 3) -> the four (Cout, Cin, 2, 2) kernels of conv(reflect_pad(upsample2x(x))), phases (a, b)."""
    rows = [torch.stack([w[:, :, 0], w[:, :, 1] + w[:, :, 2]], 2),  # a = 0: input rows i-1, i
            torch.stack([w[:, :, 0] + w[:, :, 1], w[:, :, 2]], 2)]  # a = 1: input rows i, i+1
    out = []
    for r in rows:  # (Cout, Cin, 2, 3)
        for cols in ([r[..., 0], r[..., 1] + r[..., 2]], [r[..., 0] + r[..., 1], r[..., 2]]):
            out.append(torch.stack(cols, 3).contiguous(memory_format=CL))
    return out


class _Norm(nn.Module):
    def __init__(self, norm: nn.InstanceNorm2d, relu: bool) -> None:
        super().__init__()
        self.weight, self.bias, self.eps, self.relu = norm.weight.detach(), norm.bias.detach(), norm.eps, relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return instance_norm(x, self.weight, self.bias, self.relu, self.eps)


class _Conv(nn.Module):
    """Reflection pad + conv (the `_conv` block of fast.py) on channels-last tensors."""

    def __init__(self, block: nn.Sequential) -> None:
        super().__init__()
        pad, conv = block[0], block[1]
        self.pad = list(pad.padding)
        self.weight = conv.weight.detach().contiguous(memory_format=CL)
        self.bias = conv.bias.detach()
        self.stride = conv.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(F.pad(x, self.pad, mode="reflect"), self.weight, self.bias, self.stride)
        return y.contiguous(memory_format=CL)  # oneDNN returns NCHW for a 3-channel input


class _UpConv(nn.Module):
    """conv3x3(reflect_pad1(upsample_nearest2x(x))) without the upsampled image: four 2x2 phase convs, run as one
    conv with 4 * Cout output channels on the replicate-padded small map."""

    def __init__(self, block: nn.Sequential) -> None:
        super().__init__()
        conv = block[1]
        assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and tuple(block[0].padding) == (1, 1, 1, 1)
        self.weight = torch.cat(_phase_weights(conv.weight.detach())).contiguous(memory_format=CL)  # (4Cout, Cin, 2, 2)
        self.bias = conv.bias.detach().repeat(4)
        self.c = conv.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        c = self.c
        z = F.conv2d(F.pad(x, [1, 1, 1, 1], mode="replicate"), self.weight, self.bias)  # (B, 4C, H+1, W+1)
        z = z.permute(0, 2, 3, 1)  # (B, H+1, W+1, 4C), a view for channels-last
        out = torch.empty(b, h, 2, w, 2, c, dtype=x.dtype, device=x.device)  # NHWC memory of the (B, C, 2H, 2W) result
        for a in (0, 1):
            for s in (0, 1):
                k = 2 * a + s  # phase (a, s) lives in channels k*C.. and is read at offset (a, s)
                out[:, :, a, :, s, :] = z[:, a:a + h, s:s + w, k * c:(k + 1) * c]
        return out.view(b, 2 * h, 2 * w, c).permute(0, 3, 1, 2)


class _OutConv(nn.Module):
    """Reflection pad + k x k conv to few channels as a k x 1 conv to (Cout * k) channels plus k shifted adds."""

    def __init__(self, block: nn.Sequential) -> None:
        super().__init__()
        pad, conv = block[0], block[1]
        w = conv.weight.detach()  # (Cout, Cin, k, k)
        co, ci, k, _ = w.shape
        self.pad, self.k, self.co = list(pad.padding), k, co
        # column v of the kernel becomes output channel co*k... : channel index c * k + v
        self.weight = w.permute(0, 3, 1, 2).reshape(co * k, ci, k, 1).contiguous(memory_format=CL)
        self.bias = conv.bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        k, co = self.k, self.co
        z = F.conv2d(F.pad(x, self.pad, mode="reflect"), self.weight)  # (B, co*k, H, W+k-1)
        z = z.contiguous(memory_format=CL)
        # y[b, c, i, j] = sum_v z[b, c*k + v, i, j + v]; in NHWC memory, the element (i, j + v, c*k + v) sits at
        # i*row + j*(co*k) + c*k + v*(co*k + 1): one strided view, summed over v.
        bs, _, rs, _ = z.stride()
        y = z.as_strided((b, h, w, co, k), (bs, rs, co * k, k, co * k + 1)).sum(-1)  # (B, H, W, co)
        return y.add_(self.bias).permute(0, 3, 1, 2)  # (B, co, H, W)


class _Residual(nn.Module):
    def __init__(self, block: ResidualBlock) -> None:
        super().__init__()
        body = block.body
        self.c1, self.n1, self.c2, self.n2 = _Conv(body[0]), _Norm(body[1], True), _Conv(body[3]), _Norm(body[4], False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.n2(self.c2(self.n1(self.c1(x)))).add_(x)


class FastInference(nn.Module):
    """Built from a trained TransformNet; `forward` equals `TransformNet.forward` (eval) up to float rounding.

    It holds a snapshot of the net's weights (rearranged), so build it after loading them.
    """

    def __init__(self, net: TransformNet) -> None:
        super().__init__()
        enc = net.encoder  # [conv, IN, ReLU] x 3
        self.encoder = nn.Sequential(*[m for i in range(0, len(enc), 3)
                                       for m in (_Conv(enc[i]), _Norm(enc[i + 1], True))])
        self.residual = nn.Sequential(*[_Residual(b) for b in net.residual])
        self.up1 = nn.Sequential(_UpConv(net.up1[0]), _Norm(net.up1[1], True))
        self.up2 = nn.Sequential(_UpConv(net.up2[0]), _Norm(net.up2[1], True))
        self.out = _OutConv(net.out)
        self.eval()

    @torch.inference_mode()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 3, H, W) in [0, 1], as TransformNet.forward."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = F.pad(x, [0, pw, 0, ph], mode="reflect")
        x = x.contiguous(memory_format=CL)
        y = self.residual(self.encoder(x))  # (B, 4C, H/4, W/4)
        y = self.up2(self.up1(y))  # (B, C, H, W)
        y = torch.sigmoid_(self.out(y))  # (B, 3, H, W)
        return y[..., :h, :w]


__all__ = ["FastInference", "instance_norm"]
