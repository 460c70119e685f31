"""Kernel families: what a calibration sample of each kind of kernel records, and the features
its fit reads.

A family (``conv.dense``, ``linear``, ``act.silu``...) names the ATen ops it covers, the
*columns* a sample stores (a conv's ``n, cin, cout, groups, kk, stride, hwin, hwout``) and
the *features* computed from them: physically meaningful quantities in log space (MACs,
elements read and written, weight elements, channel widths, map size, batch, kernel size;
stride, in-place and alignment flags linear), the first of which is the family's *work*
(MACs, or elements touched). It also says how a call larger than every sample is divided
into pieces the samples cover (:class:`Split`, :func:`split_rows`): the way whose pieces
read least again. The fit itself is :mod:`convscope.targets.kernels`. No torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "FAMILIES",
    "Family",
    "Split",
    "feature_matrix",
    "split_rows",
]

Features = Callable[[Mapping[str, np.ndarray]], list[np.ndarray]]


def _log(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(x, 1.0))


def _aligned(x: np.ndarray) -> np.ndarray:
    """1 where a channel count fills whole 16-float vectors (AVX-512, 64-byte lines): the
    kernels' fast paths; 0 where a remainder loop runs."""
    return (np.mod(x, 16) == 0).astype(float)


def _conv_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """``kk`` kernel taps, ``hwin`` / ``hwout`` map areas (products of the spatial sizes),
    ``cl`` 1 for a conv run in channels-last (another kernel: a depthwise one takes half
    the time or less)."""
    per_in = c["cin"] / c["groups"]
    macs = c["n"] * c["cout"] * per_in * c["kk"] * c["hwout"]
    return [
        _log(macs),
        _log(c["n"] * c["cin"] * c["hwin"]),
        _log(c["n"] * c["cout"] * c["hwout"]),
        _log(c["cout"] * per_in * c["kk"]),
        _log(per_in),
        _log(c["cout"] / c["groups"]),
        _log(c["n"]),
        _log(c["kk"]),
        c["stride"].astype(float),
        _aligned(c["cin"]),
        _aligned(c["cout"]),
        _aligned(per_in),
        c["cl"].astype(float),
    ]


def _linear_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    b, m, k, n = c["batch"], c["m"], c["k"], c["n"]
    return [
        _log(b * m * k * n),
        _log(b * m * k),
        _log(b * m * n),
        _log(k * n),
        _log(m),
        _log(k),
        _log(n),
        _log(b),
        c["bias"].astype(float),
    ]


def _attention_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    bh = c["batch"] * c["heads"]
    return [
        _log(bh * c["q"] * c["kv"] * c["d"]),
        _log(bh),
        _log(c["q"]),
        _log(c["kv"]),
        _log(c["d"]),
    ]


def _map_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """``n, c, hw``: a per-channel op over a map (batch norm)."""
    return [_log(c["n"] * c["c"] * c["hw"]), _log(c["c"]), _log(c["hw"]), _log(c["n"])]


def _rows_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """``rows, cols``: an op over the last dim (layer norm, softmax)."""
    return [_log(c["rows"] * c["cols"]), _log(c["cols"])]


def _pool_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    out = c["n"] * c["c"] * c["hwout"]
    return [
        _log(out * c["kk"]),
        _log(c["n"] * c["c"] * c["hwin"]),
        _log(out),
        _log(c["kk"]),
        c["stride"].astype(float),
        _log(c["c"]),
    ]


def _resize_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """``n, c, hwin, hwout``: adaptive pooling and interpolation."""
    return [
        _log(c["n"] * c["c"] * np.maximum(c["hwin"], c["hwout"])),
        _log(c["n"] * c["c"] * c["hwin"]),
        _log(c["n"] * c["c"] * c["hwout"]),
        _log(c["c"]),
    ]


def _unary_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    return [_log(c["numel"]), c["inplace"].astype(float)]


def _binary_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    return [
        _log(c["numel"]),
        _log(c["numel"] / np.maximum(c["other"], 1.0)),
        c["inplace"].astype(float),
    ]


def _reduce_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    return [_log(c["numel"]), _log(c["out"])]


def _cat_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    return [_log(c["numel"]), _log(c["parts"])]


def _copy_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    return [_log(c["numel"]), c["strided"].astype(float)]


def _numel_features(c: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    return [_log(c["numel"])]


@dataclass(frozen=True)
class Split:
    """One way to divide a call into pieces: these columns divided together (the map's
    area in and out; a matmul's rows; a grouped conv's groups with their channels).

    Of a family's ways, a call takes the one whose pieces read least again — ``reread``:
    the elements every piece reads whole (cutting a conv's map re-reads its weights,
    cutting its output channels re-reads its input, cutting its groups nothing) — among
    those that leave the first column at least 1; a call no way divides that far takes
    the way whose first column is largest.
    """

    columns: tuple[str, ...]
    reread: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None = None


@dataclass(frozen=True)
class Family:
    """A kernel family: the columns a sample stores and the features its fit uses."""

    name: str
    columns: tuple[str, ...]
    features: Features
    what: str  # one line: which ATen ops it covers
    # How a call larger than every sample is divided into pieces the samples cover (see
    # :class:`Split`); () for dispatch and allocation, whose time does not grow with size.
    split: tuple[Split, ...] = ()
    # The last ``kept`` features describe the call, not its size (channel alignment,
    # layout): the pieces of a split call keep the whole call's values (a third of 672
    # channels is not an unaligned channel count).
    kept: int = 0
    # Columns added after profiles were written, with the value older profiles' samples
    # had (a profile without them still loads: its rows get this value).
    defaults: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


_CONV = ("n", "cin", "cout", "groups", "kk", "stride", "hwin", "hwout", "cl")
# Profiles from before the layout column timed every conv in the contiguous layout.
_CONV_DEFAULTS: Mapping[str, int] = MappingProxyType({"cl": 0})
ACTIVATIONS = (
    "relu",
    "clamp",  # relu6, hardtanh, clamp
    "silu",
    "gelu",
    "hardswish",
    "hardsigmoid",
    "sigmoid",
    "tanh",
    "leaky_relu",  # leaky_relu, elu, celu, selu, prelu
    "other",  # exp, sqrt, erf, mish, softplus...: a transcendental per element
)


def _families() -> Mapping[str, Family]:
    fams = [
        *(
            Family(name, _CONV, _conv_features, what, kept=4, defaults=_CONV_DEFAULTS)
            for name, what in (
                ("conv.dense", "convolution, k > 1, groups = 1"),
                ("conv.pointwise", "convolution, 1×1, groups = 1"),
                ("conv.depthwise", "convolution, groups = in channels"),
                ("conv.grouped", "convolution, 1 < groups < in channels"),
            )
        ),
        Family(
            "linear",
            ("batch", "m", "k", "n", "bias"),
            _linear_features,
            "addmm / mm / bmm / baddbmm: [batch, m, k] @ [k, n]",
        ),
        Family(
            "attention",
            ("batch", "heads", "q", "kv", "d"),
            _attention_features,
            "scaled_dot_product_attention",
        ),
        Family("norm.batch", ("n", "c", "hw"), _map_features, "batch norm (eval)"),
        Family(
            "norm.batch_stats",
            ("n", "c", "hw"),
            _map_features,
            "batch norm computing batch statistics (training mode, weight standardization)",
        ),
        Family("norm.layer", ("rows", "cols"), _rows_features, "layer norm / RMS norm"),
        Family("norm.group", ("n", "c", "hw"), _map_features, "group / instance norm"),
        *(
            Family(f"pool.{k}", ("n", "c", "hwin", "kk", "stride", "hwout"), _pool_features, op)
            for k, op in (("max", "max_pool2d"), ("avg", "avg_pool2d"))
        ),
        *(
            Family(f"pool.adaptive_{k}", ("n", "c", "hwin", "hwout"), _resize_features, op)
            for k, op in (("avg", "adaptive_avg_pool2d"), ("max", "adaptive_max_pool2d"))
        ),
        *(
            Family(
                f"act.{a}", ("numel", "inplace"), _unary_features, f"{a} (and its in-place form)"
            )
            for a in ACTIVATIONS
        ),
        Family(
            "ew.add",
            ("numel", "other", "inplace"),
            _binary_features,
            "add / sub (broadcast: other = elements of the smaller operand)",
        ),
        Family(
            "ew.mul",
            ("numel", "other", "inplace"),
            _binary_features,
            "mul / div and other binary elementwise ops",
        ),
        Family("reduce", ("numel", "out"), _reduce_features, "mean / sum / amax ..."),
        Family("softmax", ("rows", "cols"), _rows_features, "softmax / log_softmax"),
        Family(
            "resize.nearest", ("n", "c", "hwin", "hwout"), _resize_features, "nearest upsampling"
        ),
        Family(
            "resize.bilinear",
            ("n", "c", "hwin", "hwout"),
            _resize_features,
            "bilinear / bicubic interpolation",
        ),
        Family("cat", ("numel", "parts"), _cat_features, "cat / stack (numel: output)"),
        Family("pad", ("numel",), _numel_features, "constant / reflect / replicate padding"),
        Family(
            "copy",
            ("numel", "strided"),
            _copy_features,
            "clone / contiguous / _to_copy / gathers (strided: from a permuted view)",
        ),
        Family("view", ("numel",), _numel_features, "views: dispatch overhead only"),
        Family("create", ("numel",), _numel_features, "empty / zeros / arange ..."),
    ]
    return MappingProxyType(
        {
            f.name: replace(f, split=_SPLIT[f.name] if f.name in _SPLIT else _split_of(f.columns))
            for f in fams
        }
    )


def _conv_weights(c: Mapping[str, np.ndarray]) -> np.ndarray:
    w: np.ndarray = c["cout"] * (c["cin"] / c["groups"]) * c["kk"]
    return w


def _conv_input(c: Mapping[str, np.ndarray]) -> np.ndarray:
    x: np.ndarray = c["n"] * c["cin"] * c["hwin"]
    return x


_MAP_SPLIT = Split(("hwin", "hwout"), _conv_weights)
# Groups are independent convolutions: cutting them re-reads nothing.
_GROUP_SPLIT = (_MAP_SPLIT, Split(("groups", "cin", "cout")))
# A GEMM [batch, m, k] @ [k, n]: cut along m re-reads the [k, n] operand, along n the
# [m, k] one, along k rewrites the [m, n] output; the batch's matrices are independent.
_LINEAR_SPLIT = (
    Split(("batch",)),
    Split(("m",), lambda c: c["batch"] * c["k"] * c["n"]),
    Split(("n",), lambda c: c["batch"] * c["m"] * c["k"]),
    Split(("k",), lambda c: c["batch"] * c["m"] * c["n"]),
)
# Calls above the largest sampled work are priced as pieces divided these ways.
_SPLIT: Mapping[str, tuple[Split, ...]] = MappingProxyType(
    {
        "view": (),
        "create": (),
        "linear": _LINEAR_SPLIT,
        "conv.dense": (_MAP_SPLIT, Split(("cout",), _conv_input)),
        "conv.pointwise": (_MAP_SPLIT, Split(("cout",), _conv_input)),
        "conv.depthwise": _GROUP_SPLIT,
        "conv.grouped": _GROUP_SPLIT,
    }
)


def _split_of(columns: tuple[str, ...]) -> tuple[Split, ...]:
    for divisible in (("hwin", "hwout"), ("hw",), ("q",), ("rows",), ("numel",)):
        if all(c in columns for c in divisible):
            return (Split(divisible),)
    raise ValueError(f"no divisible columns among {columns}")


#: Every kernel family, by name.
FAMILIES: Mapping[str, Family] = _families()


def split_rows(family: Family, rows: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """``rows`` (floats) with each row's divisible columns divided by its ``pieces``, the
    way :class:`Split` chooses; a broadcast operand or a reduction's output never counts
    more elements than the piece."""
    out = rows.copy()
    at = {c: i for i, c in enumerate(family.columns)}
    if not family.split:
        return out
    cols = {name: rows[:, i] for i, name in enumerate(family.columns)}
    leads = np.column_stack([rows[:, at[way.columns[0]]] / pieces for way in family.split])
    reread = np.column_stack(
        [
            way.reread(cols) if way.reread is not None else np.zeros(len(rows))
            for way in family.split
        ]
    )
    feasible = leads >= 1.0
    least = np.argmin(np.where(feasible, reread, np.inf), axis=1)  # ties: the first way
    chosen = np.where(feasible.any(axis=1), least, np.argmax(leads, axis=1))
    for w, way in enumerate(family.split):
        mine = chosen == w
        for c in way.columns:
            out[mine, at[c]] = rows[mine, at[c]] / pieces[mine]
    if "numel" in at:
        for c in ("other", "out"):
            if c in at:
                out[:, at[c]] = np.minimum(rows[:, at[c]], out[:, at["numel"]])
    return out


def feature_matrix(family: Family, rows: np.ndarray) -> np.ndarray:
    """The family's features (one row per sample) from its column matrix."""
    cols = {name: rows[:, i].astype(float) for i, name in enumerate(family.columns)}
    return np.column_stack(family.features(cols))
