"""Adapters of torchvision's detection ops, keyed ``"torchvision.name"``: both are
data-dependent and priced from the sizes the traced run produced."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from convscope.ir import graph as ir
from convscope.trace.adapters.args import arg


def nms(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    """``torchvision::nms(boxes [N, 4], scores [N], iou)`` → kept indices ``[K]``."""
    return ir.NmsAttrs(boxes=int(args[0].shape[0]), kept=int(outs[0].shape[0]) if outs else 0)


def roi_align(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    """``torchvision::roi_align(input, rois [K, 5], scale, ph, pw, sampling_ratio, aligned)``.

    A positive ``sampling_ratio`` r takes r × r samples per bin. A non-positive one is
    adaptive, ``⌈roi_h/ph⌉ × ⌈roi_w/pw⌉`` per region: read from the boxes when they hold
    real values (the CPU trace), else 1 per bin (the least the kernel does)."""
    x, rois = args[0], args[1]
    ph, pw = int(args[3]), int(args[4])
    ratio = int(arg(args, kwargs, 5, "sampling_ratio", -1))
    n = int(rois.shape[0])
    if ratio > 0:
        samples = n * ratio * ratio
    elif n and rois.device.type != "meta":
        aligned = bool(arg(args, kwargs, 6, "aligned", False))
        boxes = rois[:, 1:5].detach().double() * float(args[2])
        low = 0.0 if aligned else 1.0  # unaligned regions are at least 1 × 1
        h = (boxes[:, 3] - boxes[:, 1]).clamp(min=low)
        w = (boxes[:, 2] - boxes[:, 0]).clamp(min=low)
        per = torch.ceil(h / ph).clamp(min=1) * torch.ceil(w / pw).clamp(min=1)
        samples = int(per.sum())
    else:
        samples = n
    return ir.RoiAlignAttrs(rois=n, channels=int(x.shape[1]), pooled=(ph, pw), samples=samples)
