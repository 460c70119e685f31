"""The kernel model of one device: measured kernel times, and the regressors fitted on them.

A calibration (``convscope profile --calibrate --kernels``) times the kernels eager CNNs
spend their time in, over many shapes, on the device it runs on. The target profile stores
those *samples* as data, one row per measured shape (``kernels.families.<family>.rows``:
the family's ``columns`` then the time in microseconds), with the calibration's
provenance. The model is a deterministic function of the samples, fitted when the profile
is loaded, so the YAML stays readable and diffable and refitting needs no device.

Per family (``conv.dense``, ``conv.depthwise``, ``act.silu``...), the fit is:

1. **Features**: the family's physically meaningful quantities in log space, the first its
   *work* (:mod:`convscope.targets.kernel_families`).
2. **Trend**: ordinary least squares (``numpy.linalg.lstsq``) of ``log(time)`` on the
   standardized features plus the square of the standardized work (clipped to the sampled
   range, so it bends the curve between the per-call overhead that dominates small calls
   and the throughput that dominates large ones, without extrapolating a parabola).
3. **Local correction**: what the trend misses (a kernel's fast and slow paths, cache
   levels, channel counts the vector units like) is learnt from the trend's residuals by
   an ensemble of extremely randomized trees (scikit-learn's ``ExtraTreesRegressor``, a
   fixed seed, one job: deterministic).
4. **Beyond the samples**: features are held within the sampled range (the work exactly,
   the others plus half a standard deviation), so a call smaller than every sample costs
   the smallest one's time (the per-call overhead), and a call larger than every sample is
   priced as the pieces the samples cover (twice the work, twice the time), divided the
   way whose pieces read least again (a conv's map, output channels or groups; a
   matmul's batch, rows, columns or inner dimension; a tensor's elements).

Only micro-benchmark samples enter the fit; nothing here knows about any model. No torch: a
static analysis predicts from a profile file alone. Families are fitted when first used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np

from convscope.targets.kernel_families import FAMILIES, Family, feature_matrix, split_rows

__all__ = [
    "FORMAT",
    "POOLED_SETTINGS",
    "FamilyFit",
    "KernelModel",
    "Provenance",
    "cv_error",
    "parse_kernels",
]

#: Version of the ``kernels:`` section layout.
FORMAT = 1
#: How samples were timed (``provenance.clock``).
CLOCKS = ("wall", "thread-cpu", "cuda-events")


#: A regression on p columns needs this many samples per column; fewer fall back to work.
_SAMPLES_PER_FEATURE = 4
#: The residual trees: fewer samples than this, and the trend stands alone.
_TREES_MIN_SAMPLES = 8
_TREES = 100
#: Samples per leaf: two, so that one noisy sample never decides a prediction alone.
_LEAF = 2
#: Folds of :meth:`KernelModel.cv_error`.
_FOLDS = 5


@dataclass(frozen=True, eq=False)
class FamilyFit:
    """The fitted model of one family (a pure function of its samples)."""

    family: str
    mean: np.ndarray
    scale: np.ndarray
    keep: np.ndarray  # feature indices with spread (constant features are dropped)
    used: np.ndarray  # design columns in the regression (few samples: intercept and work)
    coef: np.ndarray  # intercept, standardized features, clipped work²
    work_range: tuple[float, float]  # standardized work of the samples
    work_max: float  # log of the largest sampled work
    z_range: tuple[np.ndarray, np.ndarray]  # standardized features' sampled range
    trees: Any  # the residual trees (ExtraTreesRegressor), None with few samples
    samples: int

    def _design(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The regression's design rows and the standardized features the trees read."""
        z = (feats[:, self.keep] - self.mean) / self.scale
        # The other features are held within the sampled range, plus half a standard
        # deviation; the work within the sampled range exactly.
        lo_z, hi_z = self.z_range
        z[:, 1:] = np.clip(z[:, 1:], lo_z[1:] - 0.5, hi_z[1:] + 0.5)
        lo, hi = self.work_range
        z[:, 0] = np.clip(z[:, 0], lo, hi)
        design = np.column_stack([np.ones(len(z)), z, z[:, 0] ** 2])
        design[:, ~self.used] = 0.0
        return design, z

    def predict_log(self, feats: np.ndarray) -> np.ndarray:
        """log(µs) of calls within the sampled work (below the smallest: that one's time,
        the per-call overhead); :meth:`KernelModel.predict_us` splits larger calls."""
        design, z = self._design(feats)
        trend: np.ndarray = design @ self.coef
        if self.trees is None:
            return trend
        out: np.ndarray = trend + self.trees.predict(z)
        return out


def fit_family(family: Family, rows: np.ndarray, times_us: np.ndarray) -> FamilyFit:
    """Fit one family on its samples (``rows``: columns; ``times_us``: microseconds)."""
    # scikit-learn loads when a kernel model is first fitted, not when convscope starts.
    from sklearn.ensemble import ExtraTreesRegressor

    feats = feature_matrix(family, rows)
    y = np.log(times_us)
    spread = feats.std(axis=0)
    # The work feature (index 0) always stays, so the clipped work² term has its column.
    keep = np.array([i for i in range(feats.shape[1]) if i == 0 or spread[i] > 1e-9], dtype=int)
    mean = feats[:, keep].mean(axis=0)
    scale = np.where(spread[keep] > 1e-9, spread[keep], 1.0)
    z = (feats[:, keep] - mean) / scale
    lo, hi = float(z[:, 0].min()), float(z[:, 0].max())
    design = np.column_stack([np.ones(len(z)), z, np.clip(z[:, 0], lo, hi) ** 2])
    used = np.ones(design.shape[1], dtype=bool)
    if len(y) < _SAMPLES_PER_FEATURE * design.shape[1]:
        # Too few samples for every feature: intercept, work and work² only.
        used[2:-1] = False
    if len(y) < _SAMPLES_PER_FEATURE * 3:
        used[-1] = False
    design[:, ~used] = 0.0
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ coef
    trees = None
    if len(y) >= _TREES_MIN_SAMPLES:
        trees = ExtraTreesRegressor(
            n_estimators=_TREES, min_samples_leaf=_LEAF, random_state=0, n_jobs=1
        ).fit(z, residuals)
    return FamilyFit(
        family=family.name,
        mean=mean,
        scale=scale,
        keep=keep,
        used=used,
        coef=coef,
        work_range=(lo, hi),
        work_max=float(feats[:, 0].max()),
        z_range=(z.min(axis=0), z.max(axis=0)),
        trees=trees,
        samples=len(y),
    )


def cv_error(family: Family, rows: np.ndarray, times_us: np.ndarray) -> float:
    """RMS of ``log(predicted / measured)`` over :data:`_FOLDS` folds (each sample predicted
    by a fit that never saw it): how well the family's model interpolates its own kind."""
    n = len(times_us)
    if n < _FOLDS * 2:
        return math.nan
    order = np.random.default_rng(0).permutation(n)
    errors = []
    for k in range(_FOLDS):
        test = order[k::_FOLDS]
        train = np.setdiff1d(order, test)
        fit = fit_family(family, rows[train], times_us[train])
        got = fit.predict_log(feature_matrix(family, rows[test].astype(float)))
        errors.append(got - np.log(times_us[test]))
    return float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))


#: What two calibrations must share for their samples to be pooled into one model.
POOLED_SETTINGS = ("device", "device_name", "torch", "threads", "dtype", "clock", "tolerance")


@dataclass(frozen=True)
class Provenance:
    """Where and how the samples were measured."""

    device: str  # "cpu" / "cuda"
    device_name: str
    torch: str
    threads: int
    dtype: str
    date: str  # ISO 8601, UTC
    runtime_s: float
    budget_s: float
    tolerance: float  # rounds agree when within this share
    samples: int
    unstable: int  # samples whose rounds never agreed
    module_call_us: float  # Python cost of one nn.Module call (hooks checked, forward run)
    load: tuple[float, ...] = ()  # os.getloadavg() before the run
    clock: str = "wall"  # "wall", "thread-cpu" (CPU, one thread) or "cuda-events"
    # Calibration sessions pooled in these samples (:meth:`KernelModel.pooled`); ``date`` is
    # the first one's, ``runtime_s`` / ``budget_s`` / ``samples`` / ``unstable`` their sums.
    sessions: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "device_name": self.device_name,
            "torch": self.torch,
            "threads": self.threads,
            "dtype": self.dtype,
            "date": self.date,
            "runtime_s": round(self.runtime_s, 1),
            "budget_s": round(self.budget_s, 1),
            "tolerance": self.tolerance,
            "samples": self.samples,
            "unstable": self.unstable,
            "module_call_us": round(self.module_call_us, 3),
            "load": [round(x, 2) for x in self.load],
            "clock": self.clock,
            # Written only when several sessions are pooled, so one session's file is as before.
            **({"sessions": self.sessions} if self.sessions > 1 else {}),
        }

    @property
    def text(self) -> str:
        return (
            f"{self.samples} kernel samples on {self.device_name} ({self.device}, "
            f"{self.threads} thread(s), {self.dtype}, torch {self.torch}), {self.date}, "
            f"{self.runtime_s:.0f} s"
            + (f" in {self.sessions} sessions" if self.sessions > 1 else "")
            + (f", {self.unstable} unstable" if self.unstable else "")
        )

    def check_same(self, **settings: Any) -> None:
        """A :class:`KernelsError` naming the first of ``settings`` (device, torch, threads,
        dtype, clock, tolerance...) whose value differs from this calibration's: samples
        measured so are not the same thing and are never pooled."""
        for key, theirs in settings.items():
            mine = getattr(self, key)
            if mine != theirs:
                raise KernelsError(
                    f"provenance.{key}",
                    f"cannot pool calibrations of different {key}: {mine!r} and {theirs!r}",
                )

    def pooled(self, later: Provenance) -> Provenance:
        """The provenance of this calibration's samples pooled with ``later``'s; a
        :class:`KernelsError` when the two did not measure the same thing
        (:data:`POOLED_SETTINGS` differ)."""
        self.check_same(**{key: getattr(later, key) for key in POOLED_SETTINGS})
        sessions = self.sessions + later.sessions
        return replace(
            self,
            runtime_s=self.runtime_s + later.runtime_s,
            budget_s=self.budget_s + later.budget_s,
            samples=self.samples + later.samples,
            unstable=self.unstable + later.unstable,
            # The module call overhead is one figure per session: their mean.
            module_call_us=(
                self.module_call_us * self.sessions + later.module_call_us * later.sessions
            )
            / sessions,
            load=later.load,
            sessions=sessions,
        )


@dataclass(frozen=True, eq=False)
class KernelModel:
    """Measured kernel samples per family, with their provenance; fitted lazily."""

    provenance: Provenance
    # family name → (rows × columns int matrix, times in µs, indices of unstable samples)
    samples: Mapping[str, tuple[np.ndarray, np.ndarray, tuple[int, ...]]] = field(
        default_factory=dict
    )

    # Fits made so far, by family: each is fitted on first use (a CNN uses a few).
    _fits: dict[str, FamilyFit] = field(default_factory=dict, init=False, repr=False)

    @cached_property
    def families(self) -> tuple[str, ...]:
        """Families with samples (each has a model); asked once per op of a prediction."""
        return tuple(sorted(name for name, (_, times, _) in self.samples.items() if len(times)))

    def fit(self, family: str) -> FamilyFit:
        """The family's fitted model (deterministic: a function of its samples); KeyError
        when the family has no samples."""
        if family not in self._fits:
            rows, times, _ = self.samples[family]
            if not len(times):
                raise KeyError(family)
            self._fits[family] = fit_family(FAMILIES[family], rows, times)
        return self._fits[family]

    def cv_error(self, family: str) -> float:
        """The family's cross-validated RMS log error (see :func:`cv_error`)."""
        rows, times, _ = self.samples[family]
        return cv_error(FAMILIES[family], rows, times)

    def predict_us(self, family: str, rows: Sequence[Sequence[float]]) -> np.ndarray:
        """Predicted microseconds of calls of ``family`` with these column rows; KeyError
        when the family has no samples."""
        fit = self.fit(family)
        if not len(rows):
            return np.zeros(0)
        fam = FAMILIES[family]
        cols = np.asarray(rows, dtype=float)
        feats = feature_matrix(fam, cols)
        # A call larger than every sample is priced as pieces the samples cover, split
        # along the family's divisible columns: a large call is throughput-bound (twice the
        # work, twice the time), which the fitted slope, flattened by the small calls'
        # overhead, would understate.
        pieces = np.ones(len(cols))
        if fam.split:
            pieces = np.exp(np.maximum(feats[:, 0] - fit.work_max, 0.0))
            if (pieces > 1.0).any():
                whole = feats
                feats = feature_matrix(fam, split_rows(fam, cols, pieces))
                if fam.kept:
                    feats[:, -fam.kept :] = whole[:, -fam.kept :]
        out: np.ndarray = pieces * np.exp(fit.predict_log(feats))
        return out

    def pooled(self, later: KernelModel) -> KernelModel:
        """These samples and ``later``'s, one model: calibration sessions made at different
        times (on a shared or throttling device, each session sees the speed of its own
        minutes; pooled, the fit sees their spread instead of one moment's). A
        :class:`KernelsError` when the sessions measured different devices or settings."""
        provenance = self.provenance.pooled(later.provenance)
        samples = dict(self.samples)
        for name, (rows, times, unstable) in later.samples.items():
            if name not in samples:
                samples[name] = (rows, times, unstable)
                continue
            old_rows, old_times, old_unstable = samples[name]
            samples[name] = (
                np.concatenate([old_rows, rows]),
                np.concatenate([old_times, times]),
                (*old_unstable, *(len(old_times) + i for i in unstable)),
            )
        return KernelModel(provenance=provenance, samples=MappingProxyType(samples))

    def to_dict(self) -> dict[str, Any]:
        """The ``kernels:`` section (see :func:`to_yaml` for its text)."""
        fams: dict[str, Any] = {}
        for name in sorted(self.samples):
            rows, times, unstable = self.samples[name]
            fams[name] = {
                "columns": [*FAMILIES[name].columns, "us"],
                "rows": [
                    [*(int(v) for v in r), _round_us(float(t))]
                    for r, t in zip(rows, times, strict=True)
                ],
                **({"unstable": list(unstable)} if unstable else {}),
            }
        return {"format": FORMAT, "provenance": self.provenance.to_dict(), "families": fams}

    def to_yaml(self) -> str:
        """The ``kernels:`` section as YAML text: one flow-style line per sample, so that a
        recalibration diffs line by line."""
        d = self.to_dict()
        out = ["kernels:", f"  format: {d['format']}", "  provenance:"]
        for k, v in d["provenance"].items():
            out.append(f"    {k}: {_scalar(v)}")
        out.append("  families:")
        for name, fam in d["families"].items():
            out.append(f"    {name}:")
            out.append(f"      columns: [{', '.join(fam['columns'])}]")
            if "unstable" in fam:
                out.append(f"      unstable: [{', '.join(str(i) for i in fam['unstable'])}]")
            out.append("      rows:")
            for row in fam["rows"]:
                out.append(f"        - [{', '.join(_scalar(v) for v in row)}]")
        return "\n".join(out) + "\n"


def _round_us(t: float) -> float:
    """Four significant digits: more than any measurement holds, fewer than float noise."""
    return float(f"{t:.4g}")


def _scalar(v: Any) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    return repr(v) if isinstance(v, float) else str(v)


# --------------------------------------------------------------------------- parsing

_PROVENANCE_TYPES: Mapping[str, tuple[type, ...]] = {
    "device": (str,),
    "device_name": (str,),
    "torch": (str,),
    "threads": (int,),
    "dtype": (str,),
    "date": (str,),
    "runtime_s": (int, float),
    "budget_s": (int, float),
    "tolerance": (int, float),
    "samples": (int,),
    "unstable": (int,),
    "module_call_us": (int, float),
    "load": (list,),
    "clock": (str,),
    "sessions": (int,),
}


class KernelsError(ValueError):
    """A malformed ``kernels:`` section; ``path`` is the key path inside it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_kernels(raw: Any) -> KernelModel:
    """A :class:`KernelModel` from the parsed ``kernels:`` mapping; :class:`KernelsError`
    (with the key path under ``kernels``) for anything malformed."""
    if not isinstance(raw, Mapping):
        raise KernelsError("", "expected a mapping")
    for key in raw:
        if key not in ("format", "provenance", "families"):
            raise KernelsError(str(key), "unknown key (known keys: format, provenance, families)")
    if raw.get("format") != FORMAT:
        raise KernelsError("format", f"expected {FORMAT}, got {raw.get('format')!r}")
    prov = raw.get("provenance")
    if not isinstance(prov, Mapping):
        raise KernelsError("provenance", "expected a mapping")
    values: dict[str, Any] = {}
    for key, types in _PROVENANCE_TYPES.items():
        if key not in prov:
            if key in ("load", "clock", "sessions"):
                continue
            raise KernelsError(f"provenance.{key}", "missing")
        v = prov[key]
        if isinstance(v, bool) or not isinstance(v, types):
            raise KernelsError(f"provenance.{key}", f"expected {types[0].__name__}, got {v!r}")
        values[key] = v
    for key in prov:
        if key not in _PROVENANCE_TYPES:
            raise KernelsError(f"provenance.{key}", "unknown key")
    if values["threads"] < 1 or values["module_call_us"] < 0 or values.get("sessions", 1) < 1:
        raise KernelsError("provenance", "threads and sessions must be ≥ 1 and module_call_us ≥ 0")
    if values.get("clock", "wall") not in CLOCKS:
        raise KernelsError("provenance.clock", f"expected one of {', '.join(CLOCKS)}")
    load = values.pop("load", [])
    if not all(_number(x) for x in load):
        raise KernelsError("provenance.load", "expected a list of numbers")
    provenance = Provenance(**values, load=tuple(float(x) for x in load))
    fams = raw.get("families")
    if not isinstance(fams, Mapping):
        raise KernelsError("families", "expected a mapping")
    samples: dict[str, tuple[np.ndarray, np.ndarray, tuple[int, ...]]] = {}
    for name, fam in fams.items():
        samples[str(name)] = _parse_family(str(name), fam)
    return KernelModel(provenance=provenance, samples=MappingProxyType(samples))


def _parse_family(name: str, fam: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    where = f"families.{name}"
    family = FAMILIES.get(name)
    if family is None:
        raise KernelsError(where, f"unknown kernel family (known: {', '.join(FAMILIES)})")
    if not isinstance(fam, Mapping):
        raise KernelsError(where, "expected a mapping")
    for key in fam:
        if key not in ("columns", "rows", "unstable"):
            raise KernelsError(f"{where}.{key}", "unknown key (known: columns, rows, unstable)")
    columns = [*family.columns, "us"]
    if fam.get("columns") != columns:
        # A profile written before a column was added lacks it: its rows get the default.
        older = [c for c in columns if c not in family.defaults]
        if fam.get("columns") != older:
            raise KernelsError(f"{where}.columns", f"expected [{', '.join(columns)}]")
        columns = older
    rows = fam.get("rows")
    if not isinstance(rows, list) or not rows:
        raise KernelsError(f"{where}.rows", "expected a non-empty list of rows")
    shape_rows: list[list[int]] = []
    times: list[float] = []
    for i, row in enumerate(rows):
        if (
            not isinstance(row, list)
            or len(row) != len(columns)
            or not all(_number(v) for v in row)
            or any(isinstance(v, float) for v in row[:-1])
            or any(v < 0 for v in row[:-1])
            or row[-1] <= 0
        ):
            raise KernelsError(
                f"{where}.rows[{i}]",
                f"expected {len(columns)} numbers (non-negative integers, then a positive time "
                f"in µs), got {row!r}",
            )
        values = dict(zip(columns[:-1], row[:-1], strict=True))
        shape_rows.append([int(values.get(c, family.defaults.get(c, 0))) for c in family.columns])
        times.append(float(row[-1]))
    unstable = fam.get("unstable", [])
    if not isinstance(unstable, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(rows) for i in unstable
    ):
        raise KernelsError(f"{where}.unstable", "expected a list of row indices")
    return (
        np.asarray(shape_rows, dtype=np.int64),
        np.asarray(times, dtype=float),
        tuple(unstable),
    )
