"""Where CI reports anchor findings that have no layer line (package models, budgets)."""

from __future__ import annotations

from pathlib import Path

from convscope.linting.places import Place, relative_uri, report_places, repository_root

CONFIG = """\
# models under test
models:
  - spec: models/my net#1%.py
    budgets:
      params: 10
  - torchvision:resnet50
  - spec: examples/resnet.py
budgets:
  macs: 1G
"""


def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "my net#1%.py").write_text("class Net:\n    pass\n")
    (tmp_path / "convscope.yaml").write_text(CONFIG)
    return tmp_path


def test_repository_root_is_the_git_top_level(tmp_path: Path) -> None:
    root = repo(tmp_path)
    assert repository_root(root / "models") == root.resolve()
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text("gitdir: elsewhere\n")  # a git worktree
    assert repository_root(tmp_path / "wt") == (tmp_path / "wt").resolve()


def test_uris_are_percent_encoded_and_relative(tmp_path: Path) -> None:
    root = repo(tmp_path).resolve()
    assert relative_uri(root / "models" / "my net#1%.py", root) == "models/my%20net%231%25.py"
    assert relative_uri(root / "models" / "ü.py", root) == "models/%C3%BC.py"
    assert relative_uri(Path("/elsewhere/x.py"), root) is None


def test_config_lines_name_models_and_budgets(tmp_path: Path) -> None:
    root = repo(tmp_path)
    config = root / "convscope.yaml"
    places = report_places(
        [
            ("models/my net#1%.py", root / "models" / "my net#1%.py", {"params": 10}),
            ("torchvision:resnet50", None, None),
            ("examples/resnet.py", None, None),
        ],
        config,
        cwd=root / "models",
    )
    assert places.root == root.resolve()
    cfg = config.resolve()
    # the spec itself, by line and columns; "resnet.py" must not match inside another path
    assert places.models["torchvision:resnet50"] == Place(cfg, 6, 5, 25)
    assert places.models["models/my net#1%.py"] == Place(cfg, 3, 11, 30)
    assert places.models["examples/resnet.py"].line == 7
    # a model's own budget is on its entry; the others come from the top-level table
    assert places.budgets[("models/my net#1%.py", "params")].line == 5
    assert places.budgets[("torchvision:resnet50", "macs")] == Place(cfg, 9, 3, 11)
    assert places.budgets[("models/my net#1%.py", "macs")].line == 9


def test_without_config_the_model_file_then_a_ci_file_then_the_root(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "convscope.yaml").unlink()
    model = root / "models" / "my net#1%.py"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "lint.yml").write_text(
        "jobs:\n  a:\n    steps:\n      - run: convscope lint torchvision:resnet50\n"
    )
    places = report_places(
        [
            ("models/my net#1%.py:Net", model, None),
            ("torchvision:resnet50", None, None),
            ("timm:resnet18", None, None),
        ],
        None,
        cwd=root,
    )
    assert places.models["models/my net#1%.py:Net"] == Place(model.resolve(), 1, 1, 11)
    workflow = (root / ".github" / "workflows" / "lint.yml").resolve()
    assert places.models["torchvision:resnet50"] == Place(workflow, 4, 29, 49)
    # nothing names it: the root folder (no pyproject.toml, setup.cfg or README.md here)
    assert places.models["timm:resnet18"] == Place(root.resolve())
    (root / "pyproject.toml").write_text("[project]\n")
    again = report_places([("timm:resnet18", None, None)], None, cwd=root)
    assert again.models["timm:resnet18"] == Place((root / "pyproject.toml").resolve())
