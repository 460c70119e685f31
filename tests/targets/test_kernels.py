"""The kernel model: a deterministic fit of hand-made samples, its YAML form and its errors."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import yaml

from convscope.targets.kernel_families import FAMILIES
from convscope.targets.kernels import (
    KernelModel,
    KernelsError,
    Provenance,
    parse_kernels,
)
from convscope.targets.profiles import read_profile
from convscope.validate import ConfigError

CONSTANT = Path(__file__).resolve().parents[1] / "fixtures" / "kernels" / "constant.yaml"

PROV = Provenance(
    device="cpu",
    device_name="test box",
    torch="2.x",
    threads=1,
    dtype="float32",
    date="2026-01-01T00:00:00Z",
    runtime_s=12.5,
    budget_s=20.0,
    tolerance=0.1,
    samples=20,
    unstable=1,
    module_call_us=1.5,
    load=(0.5, 0.4, 0.3),
)


def _power_law(numel: float, inplace: int) -> float:
    """``0.5 · numel^0.8 · e^(−0.2·inplace)`` µs: linear in the family's log features."""
    return 0.5 * numel**0.8 * math.exp(-0.2 * inplace)


def _relu_model() -> KernelModel:
    rows = [(10**e, i) for e in range(1, 11) for i in (0, 1)]
    times = [_power_law(n, i) for n, i in rows]
    samples = {"act.relu": (np.array(rows), np.array(times), (3,))}
    return KernelModel(PROV, MappingProxyType(samples))


def test_a_family_linear_in_its_log_features_is_fitted_exactly() -> None:
    model = _relu_model()
    # Hand computation: 0.5 · 5000^0.8 · e^-0.2 = 371.8… µs; 50 elements, not in place.
    got = model.predict_us("act.relu", [(5_000, 1), (50, 0)])
    want = [0.5 * 5_000**0.8 * math.exp(-0.2), 0.5 * 50**0.8]
    assert got == pytest.approx(want, rel=1e-6)
    assert model.fit("act.relu").samples == 20
    # Every fold's fit predicts the samples it never saw exactly.
    assert model.cv_error("act.relu") == pytest.approx(0.0, abs=1e-9)


def test_beyond_the_largest_sample_time_grows_in_proportion_to_the_work() -> None:
    # The samples' slope is 0.8 (overhead flattens it); 100× the largest work costs 100×.
    model = _relu_model()
    (edge, far) = model.predict_us("act.relu", [(10**10, 0), (10**12, 0)])
    assert edge == pytest.approx(_power_law(1e10, 0), rel=1e-6)
    assert far == pytest.approx(100 * edge, rel=1e-6)
    # Below the smallest sample: the smallest one's time (the per-call overhead).
    assert model.predict_us("act.relu", [(1, 0)]) == pytest.approx([_power_law(10, 0)], rel=1e-6)


def test_dispatch_only_families_do_not_grow_beyond_their_samples() -> None:
    rows = [(10**e,) for e in range(1, 7)]
    samples = {"view": (np.array(rows), np.full(len(rows), 2.0), ())}
    model = KernelModel(PROV, MappingProxyType(samples))
    assert model.predict_us("view", [(10**9,)]) == pytest.approx([2.0], rel=1e-9)


def test_the_fit_is_a_function_of_the_samples() -> None:
    query = [(n, n % 2) for n in range(1, 20_000, 997)]
    first = _relu_model().predict_us("act.relu", query)
    again = _relu_model().predict_us("act.relu", query)
    assert np.array_equal(first, again)


def test_constant_times_predict_that_constant_for_any_shape() -> None:
    model = read_profile(str(CONSTANT)).kernels
    assert model is not None
    assert set(model.families) == set(FAMILIES)
    dense = model.predict_us("conv.dense", [(1, 3, 64, 1, 49, 2, 224 * 224, 112 * 112, 0)])
    relu = model.predict_us("act.relu", [(12_345, 1)])
    assert dense == pytest.approx([100.0], rel=1e-9)
    assert relu == pytest.approx([10.0], rel=1e-9)


def test_a_profile_from_before_a_column_loads_with_its_default() -> None:
    # The fixture's conv families were written before the layout column ``cl``: their
    # samples were all timed in the contiguous layout, which the default says.
    raw = yaml.safe_load(CONSTANT.read_text())["kernels"]
    assert raw["families"]["conv.dense"]["columns"][-2:] == ["hwout", "us"]
    rows = parse_kernels(raw).samples["conv.dense"][0]
    assert rows.shape[1] == len(FAMILIES["conv.dense"].columns)
    assert rows[:, FAMILIES["conv.dense"].columns.index("cl")].tolist() == [0] * len(rows)
    # Columns that are neither the current ones nor an older layout are still refused.
    raw["families"]["conv.dense"]["columns"] = ["n", "cin", "us"]
    with pytest.raises(KernelsError, match=r"expected \[n, cin, cout, .*, hwout, cl, us\]"):
        parse_kernels(raw)


def test_yaml_round_trip_keeps_samples_and_provenance() -> None:
    model = _relu_model()
    text = model.to_yaml()
    back = parse_kernels(yaml.safe_load(text)["kernels"])
    assert back.to_dict() == model.to_dict()
    assert back.provenance == PROV
    assert back.samples["act.relu"][2] == (3,)
    # One flow-style line per sample: a recalibration diffs line by line.
    assert text.count("        - [") == 20
    assert back.to_yaml() == text


def test_provenance_says_where_and_how_it_was_measured() -> None:
    d = _relu_model().to_dict()["provenance"]
    for key in ("device", "device_name", "torch", "threads", "dtype", "date", "runtime_s"):
        assert key in d
    assert d["budget_s"] == 20.0 and d["unstable"] == 1 and d["module_call_us"] == 1.5
    assert "test box" in PROV.text and "1 unstable" in PROV.text


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(format=2), "format"),
        (lambda d: d["provenance"].pop("threads"), "provenance.threads"),
        (lambda d: d["provenance"].update(threads="one"), "provenance.threads"),
        (lambda d: d["families"].update({"conv.magic": {}}), "families.conv.magic"),
        (lambda d: d["families"]["act.relu"].update(columns=["n", "us"]), "columns"),
        (lambda d: d["families"]["act.relu"]["rows"].append([1, 0]), "rows[20]"),
        (lambda d: d["families"]["act.relu"]["rows"].append([1, 0, -1.0]), "rows[20]"),
        (lambda d: d["families"]["act.relu"]["rows"].append([1.5, 0, 2.0]), "rows[20]"),
        (lambda d: d["families"]["act.relu"].update(unstable=[99]), "unstable"),
    ],
)
def test_a_malformed_section_names_the_key(mutate: object, path: str) -> None:
    doc = yaml.safe_load(_relu_model().to_yaml())["kernels"]
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(KernelsError) as info:
        parse_kernels(doc)
    assert path in info.value.path


def test_a_profile_with_a_bad_kernels_section_is_one_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "dev.yaml"
    bad.write_text(
        CONSTANT.read_text().replace("columns: [numel, inplace, us]", "columns: [x, us]", 1)
    )
    with pytest.raises(ConfigError) as info:
        read_profile(str(bad))
    assert "kernels.families.act.clamp.columns" in str(info.value)
    assert "\n" not in str(info.value)


def test_profiles_without_kernels_have_none() -> None:
    assert read_profile("generic").kernels is None


def test_pooled_sessions_are_one_model_of_all_their_samples() -> None:
    first = _relu_model()
    later_prov = dataclasses.replace(
        PROV,
        date="2026-01-02T00:00:00Z",
        runtime_s=7.5,
        samples=20,
        unstable=2,
        module_call_us=2.5,
        load=(1.0,),
    )
    rows, times, _ = first.samples["act.relu"]
    later = KernelModel(
        later_prov,
        MappingProxyType(
            {
                "act.relu": (rows, times * 2.0, (0, 5)),
                "ew.add": (np.array([[10, 1, 0], [1000, 1, 0]]), np.array([3.0, 9.0]), ()),
            }
        ),
    )
    both = first.pooled(later)
    _, t, u = both.samples["act.relu"]
    assert len(t) == 40 and (t[:20] == times).all() and (t[20:] == times * 2).all()
    # A later session's unstable rows keep pointing at their own rows.
    assert u == (3, 20, 25)
    assert both.samples["ew.add"][1].tolist() == [3.0, 9.0]
    p = both.provenance
    assert (p.sessions, p.samples, p.unstable, p.runtime_s) == (2, 40, 3, 20.0)
    assert p.date == PROV.date and p.module_call_us == 2.0 and p.load == (1.0,)
    assert "in 2 sessions" in p.text
    # Each sample counts once: a shape timed at 1× and 2× is fitted in between.
    mid = both.predict_us("act.relu", [[10**5, 0]])[0]
    assert _power_law(10**5, 0) < mid < 2 * _power_law(10**5, 0)
    # The pooled file reads back, sessions included; one session's file has no such key.
    back = parse_kernels(yaml.safe_load(both.to_yaml())["kernels"])
    assert back.provenance == p and back.to_dict() == both.to_dict()
    assert "sessions" not in first.to_dict()["provenance"]


@pytest.mark.parametrize(
    ("key", "value"), [("device_name", "other box"), ("threads", 2), ("torch", "2.y")]
)
def test_sessions_of_different_settings_are_not_pooled(key: str, value: object) -> None:
    other = KernelModel(dataclasses.replace(PROV, **{key: value}), _relu_model().samples)
    with pytest.raises(KernelsError) as info:
        _relu_model().pooled(other)
    assert info.value.path == f"provenance.{key}"
