"""Every fenced code block of README.md runs, so the README cannot drift from the tool.

One test per block, named ``README.md:LINE`` after the block's opening fence:

* shell blocks (no language, ``bash``, ``sh``, ``console``): every line is a command, run
  with ``bash -c`` (pipes and redirections work; a leading ``$ `` is dropped, ``# …``
  is a comment to bash) one after the other in the block's own copy of a working
  directory, with the environment's ``convscope`` and ``python`` first on ``PATH``. Each
  must exit 0 or 1 (1 is a lint or diff gate failing, documented behaviour) and print no
  traceback. In a transcript (some line starts with ``$ ``) only those lines run, the
  others are output;
* ``python`` blocks run as a script in that directory and must exit 0; a block whose first
  line is ``# NAME.py`` is a file the reader saves: it is written into every block's
  working directory (later blocks use it) and its own test runs it;
* ``yaml`` blocks are parsed; one that is not a GitHub workflow is a convscope config and
  ``convscope config --config FILE`` must accept it.

HTML comments on the lines right above a fence (GitHub does not render them) change this:

* ``<!-- docs-check: synopsis -->``: a usage synopsis, not commands; not run;
* ``<!-- docs-check: skip REASON -->``: not run, reported as skipped with REASON;
* ``<!-- docs-check: skip-line "TEXT" REASON -->``: commands containing TEXT are not run;
* ``<!-- docs-check: exit N[,M…] -->``: the exit codes the block's commands may return.

The working directory holds what the README's commands assume a user has: a copy of
``examples/``, a ``model.py`` (torchvision's ResNet-18, with ``build`` and ``build_model``)
and its variants ``base.py``, ``model_v1.py``, ``model_v2.py``, a state dict ``ckpt.pt``
and calibration batch ``data.pt`` for it, a ``convscope.yaml`` listing two models, the
reports ``main.json`` and ``head.json`` the diff section makes, and a git repository with
one commit (``$BASE_SHA``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import convscope

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELL_LANGS = frozenset({"", "bash", "sh", "console", "shell"})
DEFAULT_EXITS = frozenset({0, 1})
COMMAND_TIMEOUT_S = 300

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
_DIRECTIVE = re.compile(r"^\s*<!--\s*docs-check:\s*(.*?)\s*-->\s*$")
_SKIP_LINE = re.compile(r'^skip-line\s+"([^"]+)"\s*(.*)$')
_FILE_HEADER = re.compile(r"^#\s*([\w./-]+\.py)\s*$")


@dataclass(frozen=True)
class Block:
    """A fenced code block and the docs-check directives right above it."""

    line: int  # of the opening fence, 1-based
    lang: str
    lines: tuple[tuple[int, str], ...]  # (line number, text) of the body
    directives: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"

    @property
    def body(self) -> str:
        return "".join(text + "\n" for _, text in self.lines)

    @property
    def saved_file(self) -> str | None:
        """NAME when a python block starts with ``# NAME.py``: a file the reader saves."""
        if self.lang != "python" or not self.lines:
            return None
        m = _FILE_HEADER.match(self.lines[0][1])
        return m.group(1) if m else None

    def directive(self, name: str) -> str | None:
        for d in self.directives:
            if d == name or d.startswith(name + " "):
                return d[len(name) :].strip()
        return None

    @property
    def allowed_exits(self) -> frozenset[int]:
        spec = self.directive("exit")
        if spec is None:
            return DEFAULT_EXITS
        return frozenset(int(code) for code in spec.split(","))

    @property
    def line_skips(self) -> tuple[tuple[str, str], ...]:
        """(TEXT, REASON) of each ``skip-line`` directive."""
        out = []
        for d in self.directives:
            m = _SKIP_LINE.match(d)
            if m:
                out.append((m.group(1), m.group(2) or "marked skip-line"))
        return tuple(out)


def parse_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, with the directives on the lines above each."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang, start = m.group(1), m.group(2).lower(), i
        directives: list[str] = []
        j = i - 1
        while j >= 0 and (d := _DIRECTIVE.match(lines[j])):
            directives.insert(0, d.group(1))
            j -= 1
        body: list[tuple[int, str]] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence[0] * len(fence)):
            body.append((i + 1, lines[i]))
            i += 1
        blocks.append(Block(start + 1, lang, tuple(body), tuple(directives)))
        i += 1
    return blocks


def shell_commands(block: Block) -> list[tuple[int, str]]:
    """(line, command) of a shell block, ``\\`` continuations joined.

    In a transcript (some line starts with a ``$ `` prompt) only prompted lines are
    commands, the others are their output.
    """
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    transcript = any(raw.lstrip().startswith("$ ") for _, raw in block.lines)
    for number, raw in block.lines:
        text = raw.strip()
        if text.startswith("$ "):
            text = text[2:]
        elif transcript and pending is None:
            continue
        if pending is not None:
            number, text = pending[0], pending[1] + " " + text
            pending = None
        if text.endswith("\\"):
            pending = (number, text[:-1].rstrip())
            continue
        if text and not text.startswith("#"):
            out.append((number, text))
    return out


BLOCKS = parse_blocks(README.read_text(encoding="utf-8"))
SAVED_FILES = {b.saved_file: b.body for b in BLOCKS if b.saved_file}


def _env() -> dict[str, str]:
    """This interpreter's scripts first on PATH, and this checkout's convscope importable."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    src = str(Path(convscope.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env["COLUMNS"] = "120"
    # One torch thread per command: two test workers share the CI machine's two cores, and
    # oversubscribed threads slow each command down many times over.
    env["OMP_NUM_THREADS"] = "1"
    env.pop("CONVSCOPE_UPDATE_GOLDEN", None)
    return env


def _run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


_MODEL_PY = '''\
"""The reader's own model, as the README's commands name it."""

import torchvision


def build():
    return torchvision.models.resnet18(num_classes={classes})


build_model = build
'''

_SAVE_CHECKPOINT = """\
import importlib.util, torch
spec = importlib.util.spec_from_file_location("m", "model.py")
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
torch.manual_seed(0)
torch.save(m.build().state_dict(), "ckpt.pt")
torch.save(torch.randn(2, 3, 224, 224), "data.pt")
"""

_CONFIG = """\
models:
  - spec: model.py
  - spec: examples/onebyone_trap.py
"""


@pytest.fixture(scope="session")
def workdir_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The files the README's commands assume, made once per test process."""
    env = _env()
    root = tmp_path_factory.mktemp("readme") / "work"
    shutil.copytree(ROOT / "examples", root / "examples")
    for name, classes in [("model.py", 1000), ("base.py", 1000)]:
        (root / name).write_text(_MODEL_PY.format(classes=classes), encoding="utf-8")
    (root / "model_v1.py").write_text(_MODEL_PY.format(classes=1000), encoding="utf-8")
    (root / "model_v2.py").write_text(_MODEL_PY.format(classes=10), encoding="utf-8")
    for name in ("main.py", "head.py"):
        (root / name).write_text(_MODEL_PY.format(classes=1000), encoding="utf-8")
    # `dev.yaml`, the kernel model the latency examples use: this repository's own
    # calibration of a 2-core x86 machine (calibrating again takes minutes).
    shutil.copy(ROOT / "benchmarks" / "latency-calibration.yaml", root / "dev.yaml")
    for name, body in SAVED_FILES.items():
        assert name is not None
        (root / name).write_text(body, encoding="utf-8")
    (root / "convscope.yaml").write_text(_CONFIG, encoding="utf-8")
    setup = [
        f"{shlex.quote(sys.executable)} -c {shlex.quote(_SAVE_CHECKPOINT)}",
        "convscope analyze torchvision:resnet18 --format json -o main.json",
        "convscope analyze examples/resnet.py --format json -o head.json",
        "git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm base",
    ]
    for command in setup:
        done = _run(command, root, env)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    sha = _run("git rev-parse HEAD", root, env).stdout.strip()
    env["BASE_SHA"] = sha
    return root, env


@pytest.fixture
def workdir(
    workdir_template: tuple[Path, dict[str, str]], tmp_path: Path
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh copy of the template: blocks cannot see each other's outputs."""
    template, env = workdir_template
    work = tmp_path / "work"
    shutil.copytree(template, work, symlinks=True, copy_function=_link_or_copy)
    yield work, env


# Files no README command writes: git's objects (immutable by design) and the tensors the
# commands only read. Linking them, not copying, keeps a block's copy at a few MB instead of
# ~90 MB (a full CI run once filled the disk copying them for every block).
_READ_ONLY = frozenset({"ckpt.pt", "data.pt"})


def _link_or_copy(src: str, dst: str) -> object:
    path = Path(src)
    if path.name in _READ_ONLY or ".git/objects" in path.as_posix():
        os.link(src, dst)
        return dst
    return shutil.copy2(src, dst)


def _check(done: subprocess.CompletedProcess[str], where: str, allowed: frozenset[int]) -> None:
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode in allowed, f"{where}: exit {done.returncode}\n{output}"
    assert "Traceback (most recent call last)" not in done.stderr, f"{where}: traceback\n{output}"


def _skip_reason(block: Block) -> str | None:
    if block.directive("synopsis") is not None:
        return "usage synopsis, not commands"
    reason = block.directive("skip")
    if reason is not None:
        return reason or "marked skip"
    return None


def _skipped_lines(block: Block) -> list[tuple[int, str]]:
    """(line, reason) of the commands a ``skip-line`` directive takes out of a shell block."""
    if block.lang not in SHELL_LANGS or _skip_reason(block):
        return []
    out = []
    for number, command in shell_commands(block):
        reasons = [r for text, r in block.line_skips if text in command]
        if reasons:
            out.append((number, reasons[0]))
    return out


def _params() -> Iterator[object]:
    """A test per block, and a skipped one per command a ``skip-line`` takes out of it."""
    for block in BLOCKS:
        reason = _skip_reason(block)
        marks = [pytest.mark.skip(reason=f"{block.id}: {reason}")] if reason else []
        yield pytest.param(block, id=block.id, marks=marks)
        for number, why in _skipped_lines(block):
            where = f"README.md:{number}"
            yield pytest.param(block, id=where, marks=pytest.mark.skip(reason=f"{where}: {why}"))


def test_readme_has_blocks_of_every_kind() -> None:
    langs = {b.lang for b in BLOCKS}
    assert {"", "python", "yaml"} <= langs, langs
    assert all(b.lang in SHELL_LANGS | {"python", "yaml"} for b in BLOCKS), langs


@pytest.mark.parametrize("block", list(_params()))
def test_readme_block_runs(block: Block, workdir: tuple[Path, dict[str, str]]) -> None:
    work, env = workdir
    if block.lang in SHELL_LANGS:
        commands = shell_commands(block)
        assert commands, f"{block.id}: a shell block without commands (mark it synopsis?)"
        skipped = {number for number, _ in _skipped_lines(block)}
        assert len(skipped) < len(commands), f"{block.id}: every line skipped (use skip)"
        for number, command in commands:
            if number not in skipped:
                where = f"README.md:{number}: {command}"
                _check(_run(command, work, env), where, block.allowed_exits)
    elif block.lang == "python":
        script = work / (block.saved_file or "readme_snippet.py")
        script.write_text(block.body, encoding="utf-8")
        command = f"python {shlex.quote(script.name)}"
        _check(_run(command, work, env), block.id, block.allowed_exits - {1} or frozenset({0}))
    elif block.lang == "yaml":
        document = yaml.safe_load(block.body)
        assert isinstance(document, dict), f"{block.id}: not a YAML mapping"
        if {"jobs", "on", "steps", "runs"} & set(document):
            return  # a GitHub workflow or action: parsing is all that can run here
        (work / "readme.yaml").write_text(block.body, encoding="utf-8")
        done = _run("convscope config --config readme.yaml", work, env)
        _check(done, block.id, frozenset({0}))
    else:
        pytest.fail(f"{block.id}: no rule runs a ```{block.lang} block")


def test_parse_blocks_reads_directives_and_lines() -> None:
    text = (
        "intro\n"
        "<!-- docs-check: skip needs a GPU -->\n"
        "```bash\n"
        "$ convscope analyze m.py \\\n"
        "    --depth 1   # fold\n"
        "# a comment\n"
        "```\n"
        "```console\n"
        "$ convscope lint m.py\n"
        "error: m.py: no model\n"
        "```\n"
        '<!-- docs-check: skip-line "cuda" needs CUDA -->\n'
        "<!-- docs-check: exit 2 -->\n"
        "```python\n"
        "# net.py\n"
        "x = 1\n"
        "```\n"
    )
    first, transcript, second = parse_blocks(text)
    assert shell_commands(transcript) == [(9, "convscope lint m.py")]
    assert (first.line, first.lang, first.directive("skip")) == (3, "bash", "needs a GPU")
    assert shell_commands(first) == [(4, "convscope analyze m.py --depth 1   # fold")]
    assert second.saved_file == "net.py"
    assert second.allowed_exits == {2}
    assert second.line_skips == (("cuda", "needs CUDA"),)
    assert _skip_reason(second) is None


def test_a_misnamed_function_fails_the_check(tmp_path: Path) -> None:
    # The drift this file exists for: a README line calling a name the package lacks.
    done = _run('python -c "import convscope; convscope.rewriting"', tmp_path, _env())
    with pytest.raises(AssertionError, match="rewriting"):
        _check(done, "README.md:1", DEFAULT_EXITS)
