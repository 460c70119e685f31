"""Every SARIF log and JUnit report the suite renders is validated as the CI systems do.

An autouse fixture wraps the SARIF and JUnit renderers for the duration of each test, so
any test that produces one (renderer unit tests and in-process CLI runs alike) fails when
the output breaks the official SARIF 2.1.0 schema, GitHub code scanning's upload rules or
the Jenkins xUnit plugin's ``junit-10.xsd``. The schema copies live in ``tests/data/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse
from urllib.request import url2pathname

import pytest

DATA = Path(__file__).resolve().parent / "data"
#: OASIS sarif-spec repository, sarif-2.1/schema/sarif-schema-2.1.0.json (errata 01).
SARIF_SCHEMA = DATA / "sarif-schema-2.1.0.json"
#: jenkinsci/xunit-plugin, src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/.
JUNIT_XSD = DATA / "junit-10.xsd"

# GitHub's documented limits ("SARIF support for code scanning", docs.github.com).
MAX_RUNS = 20
MAX_RESULTS_PER_RUN = 25_000
MAX_RULES_PER_RUN = 25_000
MAX_TAGS_PER_RULE = 20


@cache
def _sarif_validator() -> Any:
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@cache
def _junit_schema() -> Any:
    import xmlschema

    return xmlschema.XMLSchema(str(JUNIT_XSD))


def _encoded(uri: str) -> bool:
    """True when ``uri`` is already percent-encoded (RFC 3986): encoding it again after
    decoding gives it back, so no space, ``#``, ``%`` or non-ASCII character is left raw."""
    return quote(unquote(uri), safe="/") == uri


def check_github_upload(doc: dict[str, Any]) -> None:
    """GitHub code scanning's upload requirements, property by property."""
    assert doc["version"] == "2.1.0" and doc["$schema"]
    assert 1 <= len(doc["runs"]) <= MAX_RUNS
    for run in doc["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        rules = driver.get("rules", [])
        assert len(rules) <= MAX_RULES_PER_RUN
        for rule in rules:
            assert rule["id"] and rule["shortDescription"]["text"]
            assert rule["fullDescription"]["text"]
            assert rule["help"]["text"] and rule["help"]["markdown"]
            assert len(rule.get("properties", {}).get("tags", [])) <= MAX_TAGS_PER_RULE
        bases = run.get("originalUriBaseIds", {})
        for base in bases.values():
            parsed = urlparse(base["uri"])
            assert parsed.scheme == "file" and base["uri"].endswith("/"), base
        assert len(run["results"]) <= MAX_RESULTS_PER_RUN
        for res in run["results"]:
            assert isinstance(res["ruleId"], str) and res["ruleId"]
            if "ruleIndex" in res:
                assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
            assert isinstance(res["message"]["text"], str) and res["message"]["text"]
            assert res["locations"], "every result needs a location"
            for loc in res["locations"]:
                _check_physical(loc["physicalLocation"], bases)
            for key, value in res.get("partialFingerprints", {}).items():
                assert isinstance(key, str) and isinstance(value, str) and value


def _check_physical(phys: dict[str, Any], bases: dict[str, Any]) -> None:
    artifact = phys["artifactLocation"]
    uri = artifact["uri"]
    assert isinstance(uri, str) and uri and _encoded(uri), uri
    if "uriBaseId" in artifact:
        # A relative reference below the base: no scheme, no leading slash, no "..".
        assert artifact["uriBaseId"] in bases, artifact
        assert not urlparse(uri).scheme and not uri.startswith("/"), uri
        assert ".." not in uri.split("/"), uri
        base = url2pathname(urlparse(bases[artifact["uriBaseId"]]["uri"]).path)
        target = Path(base) / unquote(uri)
    else:
        assert urlparse(uri).scheme == "file", "a uri without uriBaseId must be absolute"
        target = Path(url2pathname(urlparse(uri).path))
    region = phys["region"]
    line = region["startLine"]
    assert isinstance(line, int) and line >= 1
    # The location must exist: the file (or the root folder, the last resort) and the line.
    assert target.exists(), target
    if target.is_file():
        n_lines = len(target.read_text(encoding="utf-8").splitlines())
        assert line <= max(n_lines, 1), (target, line)
    if "startColumn" in region:
        assert isinstance(region["startColumn"], int) and region["startColumn"] >= 1
    if "endColumn" in region:
        assert region.get("endLine", line) >= line
        assert region["endColumn"] > region["startColumn"]


def check_sarif(doc: dict[str, Any]) -> None:
    """The official SARIF 2.1.0 JSON schema, then GitHub's upload requirements."""
    errors = sorted(_sarif_validator().iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    check_github_upload(doc)


def check_junit(text: str) -> None:
    """Jenkins xUnit's ``junit-10.xsd``."""
    _junit_schema().validate(text)


@pytest.fixture
def sarif_check() -> Callable[[dict[str, Any]], None]:
    return check_sarif


@pytest.fixture
def junit_check() -> Callable[[str], None]:
    return check_junit


@pytest.fixture(autouse=True)
def _validate_ci_outputs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from convscope.render.lint import junit, sarif

    to_dict, render_junit = sarif.to_dict, junit.render

    def checked_to_dict(*args: Any, **kwargs: Any) -> dict[str, Any]:
        doc = to_dict(*args, **kwargs)
        check_sarif(json.loads(json.dumps(doc)))
        return doc

    def checked_junit(*args: Any, **kwargs: Any) -> str:
        text = render_junit(*args, **kwargs)
        check_junit(text)
        return text

    monkeypatch.setattr(sarif, "to_dict", checked_to_dict)
    monkeypatch.setattr(junit, "render", checked_junit)
    yield


# --------------------------------------------------------------------------- kernel models


def _work(family: str, row: list[int]) -> float:
    """The family's work (its first fit feature: MACs or elements touched) of one row."""
    import numpy as np

    from convscope.targets.kernel_families import FAMILIES, feature_matrix

    return float(np.exp(feature_matrix(FAMILIES[family], np.array([row]))[0, 0]))


def write_kernel_profile(
    path: Path,
    per_work: dict[str, float] | None = None,
    flat_us: float = 1.0,
    module_call_us: float = 2.0,
    roofline: bool = True,
) -> Path:
    """A hand-made target profile with a kernel model: a family named in ``per_work`` takes
    that many µs per unit of its work (per MAC for convs), every other family ``flat_us``
    per call whatever its shape. Four samples per family, exact power laws, so the fit
    (intercept and work in log space) reproduces these times for any shape up to the
    largest sample (every column 2^24), which no test model exceeds."""
    import yaml

    from convscope.targets.kernel_families import FAMILIES

    per_work = per_work or {}
    families = {}
    for name, fam in FAMILIES.items():
        rows = []
        for v in (2, 4, 8, 2**24):
            row = [
                v if c not in ("inplace", "bias", "strided", "stride") else 1 for c in fam.columns
            ]
            us = per_work[name] * _work(name, row) if name in per_work else flat_us
            rows.append([*row, us])
        families[name] = {"columns": [*fam.columns, "us"], "rows": rows}
    doc: dict[str, Any] = {
        "description": "Hand-made kernel model (tests).",
        "device": "cpu",
        "int8": False,
        "kernels": {
            "format": 1,
            "provenance": {
                "device": "cpu",
                "device_name": "hand-made",
                "torch": "0",
                "threads": 1,
                "dtype": "float32",
                "date": "2026-01-01T00:00:00Z",
                "runtime_s": 0.0,
                "budget_s": 0.0,
                "tolerance": 0.1,
                "samples": 4 * len(families),
                "unstable": 0,
                "module_call_us": module_call_us,
                "load": [],
            },
            "families": families,
        },
    }
    if roofline:
        doc["roofline"] = {"peak-flops": 1.0e11, "bandwidth": 1.0e10, "source": "hand-made"}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def kernel_profile(tmp_path: Path) -> Callable[..., Path]:
    """``kernel_profile(name, per_work=..., flat_us=...)``: a hand-made profile file."""

    def make(name: str = "dev", **kwargs: Any) -> Path:
        return write_kernel_profile(tmp_path / f"{name}.yaml", **kwargs)

    return make
