"""The built distributions carry the license and the metadata pyproject.toml declares."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("hatchling", path=str(Path(sys.executable).parent)) is None,
    reason="hatchling not installed (the dev extra brings it)",
)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    hatchling = Path(sys.executable).parent / "hatchling"
    subprocess.run(
        [str(hatchling), "build", "-d", str(out)], cwd=ROOT, check=True, capture_output=True
    )
    return out


def test_license_file_is_at_the_root_and_apache() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0" in text


def test_wheel_ships_license_catalog_and_metadata(dists: Path) -> None:
    (wheel,) = dists.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = Parser().parsestr(
            z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        )
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "convscope/py.typed" in names
    assert any(n.startswith("convscope/_rules/RF002-") for n in names)
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("Classifier") and meta["Keywords"]
    requires = meta.get_all("Requires-Dist") or []
    assert any(r.startswith("numpy") for r in requires)
    assert not any(r.startswith("torch==") for r in requires), "exact pins live in constraints"


def test_sdist_ships_license(dists: Path) -> None:
    (sdist,) = dists.glob("*.tar.gz")
    with tarfile.open(sdist) as t:
        assert any(n.endswith("/LICENSE") for n in t.getnames())
