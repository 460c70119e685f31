"""The committed ``reports/`` gallery is up to date: regenerating each example's JSON gives
the committed file, every example has its Markdown and README line, and the HTML (not
committed: ``make reports`` writes it) renders from the committed JSON as a
self-contained page.

When this fails after an intended change to convscope or an example, run ``make reports``
and commit the result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from convscope.report import gallery

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
EXAMPLES = gallery.examples(ROOT)
HINT = "reports/ is stale: run `make reports` and commit the result"


def _split_erf(doc: dict[str, Any]) -> dict[str, Any]:
    """The ERF section: measured from real float32 gradients, so another CPU may round a
    boundary differently; it is compared with tolerances, the rest exactly."""
    return doc.pop("erf", None) or {}


def _assert_erf_close(fresh: dict[str, Any], committed: dict[str, Any]) -> None:
    assert fresh.keys() == committed.keys(), HINT
    for key in ("layer", "position", "input_size", "samples", "analytic_size", "map_stride"):
        assert fresh.get(key) == committed.get(key), (key, HINT)
    for key in ("center",):
        for a, b in zip(fresh[key], committed[key], strict=True):
            assert abs(a - b) <= 1, (key, HINT)
    assert fresh["sides"].keys() == committed["sides"].keys(), HINT
    for frac, side in fresh["sides"].items():
        assert abs(side - committed["sides"][frac]) <= 2, (frac, HINT)
    assert len(fresh["map"]) == len(committed["map"]), HINT
    for a, b in zip(fresh["map"], committed["map"], strict=True):
        assert a == pytest.approx(b, abs=2e-3), HINT


def test_every_example_is_in_the_gallery() -> None:
    assert len(EXAMPLES) >= 5
    names = {p.stem for p in EXAMPLES}
    for suffix in ("json", "md"):
        found = {p.stem for p in REPORTS.glob(f"*.{suffix}") if p.name != "README.md"}
        assert found == names, f"{suffix}: {HINT}"
    readme = (REPORTS / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert f"[json]({name}.json) · [md]({name}.md)" in readme, HINT
    assert "make reports" in readme


def test_gallery_html_is_git_ignored() -> None:
    """The pages are generated, never committed (plotly.js alone is 4.8 MB a page)."""
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/reports/*.html" in ignored


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_committed_json_is_current(example: Path) -> None:
    committed_text = (REPORTS / f"{example.stem}.json").read_text(encoding="utf-8")
    fresh_text = gallery.render_json(example, ROOT)
    committed, fresh = json.loads(committed_text), json.loads(fresh_text)
    committed_erf, fresh_erf = _split_erf(committed), _split_erf(fresh)
    assert fresh == committed, f"{example.stem}.json differs: {HINT}"
    if fresh_erf or committed_erf:
        _assert_erf_close(fresh_erf, committed_erf)
    # deterministic and machine-independent: no absolute paths
    assert str(ROOT) not in fresh_text and fresh["model"] == f"examples/{example.name}"


def test_readme_matches_the_json() -> None:
    docs = {
        p.stem: json.loads((REPORTS / f"{p.stem}.json").read_text(encoding="utf-8"))
        for p in EXAMPLES
    }
    assert (REPORTS / "README.md").read_text(encoding="utf-8") == gallery.readme(docs), HINT


def test_html_and_markdown_carry_the_json_numbers() -> None:
    from convscope.render.report import html as html_report
    from convscope.report.build import rule_docs

    for example in EXAMPLES:
        doc = json.loads((REPORTS / f"{example.stem}.json").read_text(encoding="utf-8"))
        docs = rule_docs(f["code"] for f in doc["lint"]["findings"])
        html = html_report.render(doc, rule_docs=docs)  # what `make reports` writes
        md = (REPORTS / f"{example.stem}.md").read_text(encoding="utf-8")
        t = doc["totals"]
        assert html.startswith("<!doctype html>") and "<script src=" not in html
        assert f'data-v="{t["macs"]}"' in html and f'data-v="{t["params"]}"' in html, HINT
        assert html.count("<tr data-index=") >= len(doc["layers"]), HINT
        assert f"| MACs | {t['macs']:,} " in md, HINT


def test_check_mode_reports_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = min(EXAMPLES, key=lambda p: p.stat().st_size).stem
    doc = json.loads((REPORTS / f"{name}.json").read_text(encoding="utf-8"))
    doc["totals"]["macs"] += 1
    (tmp_path / f"{name}.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    assert gallery.main(["--check", "--out", str(tmp_path), "--only", name]) == 1
    err = capsys.readouterr().err
    assert f"stale: {tmp_path / name}.json" in err
    assert f"checked 1 example JSON file in {tmp_path}: 1 stale" in err
    # a check that finds nothing says what it checked instead of printing nothing
    (tmp_path / f"{name}.json").write_text(
        gallery.render_json(ROOT / "examples" / f"{name}.py", ROOT), encoding="utf-8"
    )
    assert gallery.main(["--check", "--out", str(tmp_path), "--only", name]) == 0
    assert capsys.readouterr().err == f"checked 1 example JSON file in {tmp_path}: all current\n"
    assert gallery.main(["--check", "--out", str(tmp_path), "--only", "no_such"]) == 2
