"""Every option that several commands take reads the same in each of them.

Such an option is declared once, in ``convscope/cli/options.py``; a command that needs a
nuance passes it to the factory, which appends it to the shared help. These tests compare
each command's option, read back from ``convscope.cli.app.main``, with the shared
declaration, and read the command modules to see that none declares a shared option again.
The exceptions are the three small allowlists below, each entry with its reason.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest

from convscope.cli import options
from convscope.cli.app import main

CLI = Path(options.__file__).resolve().parent
GROUP = "convscope"  # the group's own options (--debug) count as a command's

# (option, command) pairs that share a name but not a meaning: the command declares its own.
OWN_MEANING: dict[tuple[str, str], str] = {
    ("--device", "profile"): "where the model runs (cpu, cuda, cuda:N), not the meta or CPU "
    "tensors that analyze and lint trace on",
    ("-o/--output", "rewrite"): "the .pt2 program --apply writes (OUT.pt2); the plan itself "
    "always goes to stdout",
    ("--fail-on", "lint"): "the lowest finding severity that fails the run",
    ("--fail-on", "diff"): "repeatable METRIC:+N% thresholds on the change",
    ("--calibrate", "profile"): "a flag that may run alone: calibrate this machine only",
    ("--calibrate", "report"): "--calibrate/--no-calibrate of a --profile run, by default only "
    "when the target has no roofline figures",
    ("--dtype", "profile"): "the dtype a --calibrate run measures in, not the dtype analyze "
    "re-prices bytes at",
}

# Shared options whose declarations differ in these fields on purpose.
MAY_DIFFER: dict[str, tuple[frozenset[str], str]] = {
    "--format": (
        frozenset({"type", "metavar", "default", "show_default"}),
        "each command renders its own formats and has its own default",
    ),
    "--calibrate-time": (
        frozenset({"default"}),
        "report calibrates as one step of a longer run: 2 s, profile 3 s (defaults kept)",
    ),
}

# Shared options whose help carries a command's nuance after the shared text.
NUANCED: dict[str, str] = {
    "-i/--input": "lint: only the MODELs on the command line (config models name their own); "
    "diff: only a BASE/HEAD that is a model spec",
    "--weights": "lint: only the MODELs on the command line (config models name their own)",
    "-o/--output": "profile: with --calibrate alone, FILE.yaml is a target profile",
    "--target": "analyze: a profile with a kernel model adds predicted latency",
}

# The shared declaration of every option more than one command takes.
SHARED: dict[str, Callable[[], Callable[[Any], Any]]] = {
    "--debug": options.debug_option,
    "--timeout": options.timeout_option,
    "-i/--input": options.input_option,
    "--weights": options.weights_options,
    "--trust-pickle": options.trust_pickle_option,
    "--format": lambda: options.format_option(("table",), "table"),
    "-o/--output": options.output_option,
    "--config": options.config_option,
    "--target": options.target_option,
    "--device": options.trace_device_option,
    "--calibration": options.calibration_option,
    "--depth": options.depth_option,
    "--erf": options.erf_option,
    "--seed": options.seed_option,
    "--exit-zero": options.exit_zero_option,
    "--min-time": options.min_time_option,
    "--calibrate-time": lambda: options.calibrate_time_option(3.0),
}


def _key(option: click.Option) -> str:
    return "/".join(option.opts)


def _commands() -> dict[str, click.Command]:
    return {GROUP: main, **main.commands}


def _taken() -> dict[str, dict[str, click.Option]]:
    """Option (its flags, ``-i/--input``) → command → that command's option."""
    found: dict[str, dict[str, click.Option]] = {}
    for name, command in _commands().items():
        for param in command.params:
            if isinstance(param, click.Option):
                found.setdefault(_key(param), {})[name] = param
    return found


def _shared_declaration(key: str) -> click.Option:
    def command() -> None:
        """A function to decorate."""

    SHARED[key]()(command)
    params: list[click.Parameter] = getattr(command, "__click_params__", [])
    [option] = [p for p in params if isinstance(p, click.Option) and _key(p) == key]
    return option


def _fields(option: click.Option) -> dict[str, Any]:
    """What a reader of ``--help`` or a caller of the option sees."""
    return {
        "name": option.name,
        "secondary_opts": option.secondary_opts,
        "help": option.help,
        "metavar": option.make_metavar(click.Context(main)),
        "type": (type(option.type), vars(option.type)),
        "default": option.default,
        "show_default": option.show_default,
        "multiple": option.multiple,
        "is_flag": option.is_flag,
        "required": option.required,
    }


def _sharing() -> dict[str, dict[str, click.Option]]:
    """The options more than one command takes with the same meaning."""
    return {
        key: same
        for key, by_command in _taken().items()
        if len(same := {c: o for c, o in by_command.items() if (key, c) not in OWN_MEANING}) > 1
    }


def test_every_option_two_commands_take_is_declared_in_options() -> None:
    undeclared = sorted(set(_sharing()) - set(SHARED))
    assert not undeclared, f"declare these once in convscope/cli/options.py: {undeclared}"


def test_every_shared_declaration_is_shared() -> None:
    sharing = _sharing()
    alone = sorted(key for key in SHARED if key not in sharing)
    assert not alone, f"only one command takes these (declare them in its module): {alone}"


@pytest.mark.parametrize("key", sorted(SHARED))
def test_a_shared_option_reads_the_same_in_every_command(key: str) -> None:
    shared = _fields(_shared_declaration(key))
    may_differ = MAY_DIFFER.get(key, (frozenset(), ""))[0]
    for command, option in _sharing()[key].items():
        fields = _fields(option)
        for field in set(shared) - may_differ - {"help"}:
            assert fields[field] == shared[field], (key, command, field)
        if "help" in may_differ:
            continue
        help_text, base = fields["help"], shared["help"]
        if key in NUANCED and help_text != base:
            assert help_text.startswith(base + " "), (key, command, help_text)
        else:
            assert help_text == base, (key, command, help_text)


def test_the_allowlists_name_options_that_exist_and_differ() -> None:
    taken = _taken()
    for key, command in OWN_MEANING:
        assert command in taken.get(key, {}), (key, command)
    for key, (fields, _) in MAY_DIFFER.items():
        by_command = _sharing()[key]
        for field in fields:
            values = {repr(_fields(option)[field]) for option in by_command.values()}
            assert len(values) > 1, f"{key} {field} is the same everywhere: drop it from MAY_DIFFER"
    for key in NUANCED:
        base = _shared_declaration(key).help
        assert any(o.help != base for o in _sharing()[key].values()), (
            f"{key} has no nuance any more: drop it from NUANCED"
        )
    reasons = [*OWN_MEANING.values(), *(r for _, r in MAY_DIFFER.values()), *NUANCED.values()]
    assert all(reason.strip() for reason in reasons)


def test_target_has_one_metavar_everywhere() -> None:
    by_command = _taken()["--target"]
    assert set(by_command) >= {"lint", "config", "profile", "report"}
    metavars = {c: o.make_metavar(click.Context(main.commands[c])) for c, o in by_command.items()}
    assert set(metavars.values()) == {"PROFILE"}, metavars


def _declared_in_modules() -> list[tuple[str, str, str]]:
    """(module, command, option) for every ``click.option`` written in a command module."""
    found: list[tuple[str, str, str]] = []
    for path in sorted(CLI.glob("*.py")):
        if path.name == "options.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            command = _command_name(node)
            for decorator in node.decorator_list:
                if _is_call_to(decorator, "option"):
                    assert isinstance(decorator, ast.Call)
                    flags = [
                        a.value.split("/")[0]
                        for a in decorator.args
                        if isinstance(a, ast.Constant)
                        and isinstance(a.value, str)
                        and a.value.startswith("-")
                    ]
                    found.append((path.name, command or node.name, "/".join(flags)))
    return found


def _is_call_to(node: ast.expr, attribute: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == attribute
    )


def _command_name(node: ast.FunctionDef) -> str | None:
    for decorator in node.decorator_list:
        if _is_call_to(decorator, "group"):
            return GROUP
        if _is_call_to(decorator, "command"):
            assert isinstance(decorator, ast.Call)
            for arg in decorator.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    return arg.value
            return node.name.replace("_", "-")
    return None


def test_no_command_module_declares_a_shared_option_again() -> None:
    declared = _declared_in_modules()
    assert {option for _, _, option in declared} >= {"--only", "--fail-on"}  # the scan works
    copies = [
        (module, command, option)
        for module, command, option in declared
        if option in SHARED and (option, command) not in OWN_MEANING
    ]
    assert not copies, f"use the declaration in convscope/cli/options.py: {copies}"
