"""INT8 weight fake quantization shared by the trained-model benchmarks
(``quant_trained.py``, ``design_evidence.py``): one definition of what "INT8 weights" means
in both."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Scheme = Literal["per-tensor", "per-channel"]


def fake_quant_weight(w: Tensor, scheme: Scheme, bits: int = 8) -> Tensor:
    """Symmetric narrow-range weight fake quantization (levels ±(2^(bits−1) − 1), zero point
    0) of a conv / linear weight, one scale per tensor or per output channel, with torch's
    own fake quantizers."""
    qmax = 2 ** (bits - 1) - 1
    if scheme == "per-tensor":
        top = float(w.abs().max())
        return (
            w if top == 0 else torch.fake_quantize_per_tensor_affine(w, top / qmax, 0, -qmax, qmax)
        )
    r = w.reshape(w.shape[0], -1).abs().amax(dim=1)
    scale = torch.where(r > 0, r / qmax, torch.ones_like(r))
    zero = torch.zeros(w.shape[0], dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -qmax, qmax)
