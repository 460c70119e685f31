"""Open a ``torch.export`` archive (``.pt2``) without running code from it, and load the
program it holds.

``torch.export.load`` unpickles parts of the archive with ``weights_only=False`` (in torch
2.14: pickled weights and tensor constants, ``opaque_obj_*`` constants via ``pickle.loads``,
and the sample inputs and legacy state dicts after a failed ``weights_only`` attempt), loads
``custom_obj_*`` constants with TorchScript's unpickler and ``data/aotinductor/`` members as
native libraries. A data file must not run code, so before torch sees the archive every
member it would unpickle is loaded here with ``weights_only=True``; a member that safe
loading refuses, or that holds native code, is refused unless the user passes
``--trust-pickle``. The archive is read once into memory and that same buffer is what torch
loads, so the checked bytes are the loaded bytes.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convscope.errors import ModelLoadError, describe
from convscope.model.arguments import ModelInputs

_TRUST_HINT = "pass --trust-pickle only if you trust where the file came from"

# Members of the pre-2.8 archive layout that torch.export.load's fallback path unpickles.
_LEGACY_PICKLES = (
    "serialized_state_dict.pt",
    "serialized_constants.pt",
    "serialized_example_inputs.pt",
)


def read_archive(path: Path, *, trust_pickle: bool) -> io.BytesIO:
    """The archive's bytes, after checking that loading them runs no pickled code."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file {path}: {exc.strerror or exc}") from exc
    if not trust_pickle:
        vet(data, path)
    return io.BytesIO(data)


def vet(data: bytes, path: Path) -> None:
    """Raise :class:`ModelLoadError` when torch would run code from the archive ``data``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return  # not an archive at all: torch refuses it without unpickling anything
    with archive:
        names = archive.namelist()
        records = _records(names)
        for reason, member in _unsafe_members(archive, names, records):
            raise ModelLoadError(f"exported program {path} {reason} ({member}); {_TRUST_HINT}")


def _records(names: list[str]) -> dict[str, str]:
    """Record name (as torch's archive reader sees it, below the root folder) → zip name."""
    roots = {n.split("/", 1)[0] for n in names if "/" in n}
    if len(roots) == 1 and all("/" in n for n in names):
        return {n.split("/", 1)[1]: n for n in names}
    return {n: n for n in names}


def _unsafe_members(
    archive: zipfile.ZipFile, names: list[str], records: dict[str, str]
) -> Iterator[tuple[str, str]]:
    for record, member in records.items():
        if record.startswith("data/aotinductor/"):
            yield "holds compiled native code", member
            return
    checked: set[str] = set()

    def unpickled(member: str) -> Iterator[tuple[str, str]]:
        checked.add(member)
        if not _loads_weights_only(archive.read(member)):
            yield "holds a pickle that safe (weights_only) loading refuses", member

    for record in records:
        if not (record.startswith("models/") and record.endswith(".json")):
            continue
        model = record[len("models/") : -len(".json")]
        for folder in ("sample_inputs", "weights", "constants"):
            if f"data/{folder}/{model}.pt" in records:  # sample inputs, legacy payloads
                yield from unpickled(records[f"data/{folder}/{model}.pt"])
        for folder in ("weights", "constants"):
            config = records.get(f"data/{folder}/{model}_{folder}_config.json")
            if config is None:
                continue
            for entry in _payloads(archive, config):
                name = str(entry.get("path_name", ""))
                member = records.get(f"data/{folder}/{name}", f"data/{folder}/{name}")
                if name.startswith(("custom_obj_", "opaque_obj_")):
                    yield "holds a pickled Python object", member
                elif entry.get("use_pickle") and member in archive.NameToInfo:
                    yield from unpickled(member)
    for legacy in _LEGACY_PICKLES:
        if legacy in archive.NameToInfo:
            yield from unpickled(legacy)
    # Anything else that looks like a pickle: torch does not read it today, but a future
    # layout might, and a safe load of it costs nothing when it is a plain tensor file.
    raw = _raw_payloads(archive, records)
    for member in names:
        if member in checked or member in raw or member.endswith("/"):
            continue
        if member.endswith(".pkl") or _looks_pickled(archive, member):
            yield from unpickled(member)


def _payloads(archive: zipfile.ZipFile, member: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(archive.read(member))
        entries = doc["config"].values()
        return [e for e in entries if isinstance(e, dict)]
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise ModelLoadError(f"malformed payload config {member} in exported program") from exc


def _raw_payloads(archive: zipfile.ZipFile, records: dict[str, str]) -> set[str]:
    """Members that hold raw tensor bytes (``use_pickle: false``): never unpickled."""
    raw: set[str] = set()
    for record, member in records.items():
        if not record.endswith("_config.json") or not record.startswith("data/"):
            continue
        folder = record.rsplit("/", 1)[0]
        for entry in _payloads(archive, member):
            if not entry.get("use_pickle"):
                name = f"{folder}/{entry.get('path_name', '')}"
                raw.add(records.get(name, name))
    return raw


def _looks_pickled(archive: zipfile.ZipFile, member: str) -> bool:
    with archive.open(member) as fh:
        head = fh.read(4)
    # a raw pickle (protocol 2+) or a nested torch.save archive
    return head[:1] == b"\x80" or head == b"PK\x03\x04"


def _loads_weights_only(payload: bytes) -> bool:
    if not payload:
        return True  # torch treats an empty artifact as {}
    try:
        torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception:  # any refusal or corruption: not provably safe
        return False
    return True


def load_program(path: Path, *, trust_pickle: bool) -> tuple[nn.Module, ModelInputs | None]:
    """The module of the exported program at ``path`` (real CPU weights) and its sample
    inputs when it saved tensors; the archive is vetted first (:func:`read_archive`)."""
    program = _export_load(path, read_archive(path, trust_pickle=trust_pickle))
    try:
        module = program.module()
    except Exception as exc:  # a program we cannot unlift is unusable
        raise ModelLoadError(f"could not load exported program {path}: {describe(exc)}") from exc
    return module, _program_inputs(program)


def _export_load(path: Path, archive: Any) -> Any:
    # torch.export.load logs its own traceback (a warning on the ``torch.export`` logger)
    # before trying an older format, and the serializer logs one when it falls back to
    # unrestricted unpickling; the failure is reported once, as our one line, with the
    # first cause torch logged.
    with (
        _captured_log("torch.export") as logged,
        _captured_log("torch._export.serde.serialize"),
        _captured_log("torch.export.pt2_archive._package"),
    ):
        try:
            return torch.export.load(archive)
        except Exception as exc:  # any failure means "not a usable export"
            cause = f" ({logged[0]})" if logged else ""
            raise ModelLoadError(
                f"could not load exported program {path}: {describe(exc)}{cause}"
            ) from exc


@contextlib.contextmanager
def _captured_log(name: str) -> Iterator[list[str]]:
    """Keep a library logger's records out of stderr; yield their one-line causes."""
    logger = logging.getLogger(name)
    causes: list[str] = []

    def swallow(record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:  # its first sentence: torch appends paragraphs of advice
            causes.append(describe(exc).split(". ", 1)[0][:160])
        return False

    logger.addFilter(swallow)
    try:
        yield causes
    finally:
        logger.removeFilter(swallow)


def _program_inputs(program: Any) -> ModelInputs | None:
    """The program's sample ``(args, kwargs)`` when every one is a tensor."""
    example = getattr(program, "example_inputs", None)
    if not example:
        return None
    pair = isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict)
    args, kwargs = example if pair else (example, {})
    given = ModelInputs(tuple(args), kwargs)
    if given and all(isinstance(v, torch.Tensor) for v in given.values()):
        return given
    return None
