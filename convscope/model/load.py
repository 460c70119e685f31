"""MODEL spec → module + example inputs: :func:`load_model`, the one entry point of loading.

Every command accepts the same MODEL specs (``model.py``, ``model.py:NAME``,
``pkg.module:NAME``, ``torchvision:NAME``, ``timm:NAME``, ``program.pt2``). Loading
resolves the spec (:mod:`.spec`), builds the module (:mod:`.building`), applies a
checkpoint (:mod:`.checkpoint`) and chooses the inputs (:mod:`.inputs`); every failure
becomes a :class:`ModelLoadError` or :class:`InputError` with a single line naming the
file, the name and the cause, so the CLI can exit 2 without a traceback.

Models are built under ``torch.device("meta")`` unless weights are requested, so even a
billion-parameter model costs no memory to analyze; ``LoadedModel.rebuild`` gives the tracer
a real CPU copy for the rare model that cannot run on meta.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from convscope.errors import InputError
from convscope.model.arguments import GivenInputs, ModelInputs
from convscope.model.building import ANY_WAY, REAL, construct
from convscope.model.checkpoint import apply_state_dict, load_state_dict
from convscope.model.guard import check_module_tree
from convscope.model.inputs import check_input_count, choose_inputs
from convscope.model.materialize import materialize
from convscope.model.shapes import validate_shapes
from convscope.model.spec import resolve
from convscope.model.state import seeded

__all__ = ["LoadedModel", "load_model"]


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready for tracing. ``eq=False``: comparing tensors field-wise is meaningless."""

    module: torch.nn.Module
    inputs: ModelInputs
    spec: str
    source_file: Path | None
    on_meta: bool
    rebuild: Callable[[], torch.nn.Module] | None
    input_source: str


def load_model(
    spec: str,
    *,
    input_shapes: GivenInputs | None = None,
    weights: str | Path | None = None,
    trust_pickle: bool = False,
    device: str = "meta",
    seed: int | None = None,
) -> LoadedModel:
    """Turn a MODEL spec into a module and example inputs.

    ``input_shapes``: shapes of positional inputs, or :class:`ModelInputs` (what ``-i``
    parses into, keyword inputs included); None takes what the model file declares.

    Without ``weights`` and with ``device="meta"`` the model is built on the meta device
    (nothing allocated). Any other device, or weights, builds a real model on CPU — moving
    it to an accelerator is the caller's job (profiling moves its own copy). Raises
    :class:`ModelLoadError` / :class:`InputError` with a one-line message.

    ``seed``: the model file's import, its build and every ``rebuild()`` run with torch's
    RNG seeded so (random weights are the same each time), the caller's RNG left as it was.
    """
    with seeded(seed):
        return _load(spec, input_shapes, weights, trust_pickle, device, seed)


def _load(
    spec: str,
    input_shapes: GivenInputs | None,
    weights: str | Path | None,
    trust_pickle: bool,
    device: str,
    seed: int | None,
) -> LoadedModel:
    _check_device(device)
    if input_shapes and not isinstance(input_shapes, ModelInputs):
        validate_shapes(input_shapes, "from the command line")
    target = resolve(spec, trust_pickle)
    ckpt = Path(weights).expanduser() if weights is not None else None

    def apply_weights(
        module: nn.Module, state: Mapping[str, torch.Tensor] | None = None
    ) -> nn.Module:
        # rebuild() re-reads the checkpoint rather than keeping a second copy of the weights
        # alive for the lifetime of the LoadedModel.
        if ckpt is not None:
            if state is None:
                state = load_state_dict(ckpt, trust_pickle=trust_pickle)
            apply_state_dict(module, state, ckpt, spec)
        return module

    instance = target.instance
    if instance is not None:
        # Weights go into a copy: the user's (possibly shared) instance is never modified.
        copy_seed = 0 if seed is None else seed
        if ckpt is not None:
            module = apply_weights(materialize(instance, seed=copy_seed).module)
        else:
            module = instance

        def rebuild() -> nn.Module:
            return apply_weights(materialize(instance, seed=copy_seed).module)
    else:
        if ckpt is None and device == "meta":
            module = construct(target, ANY_WAY)
        else:
            # Read the checkpoint first: a bad file should fail before a slow build.
            state = load_state_dict(ckpt, trust_pickle=trust_pickle) if ckpt else None
            module = apply_weights(construct(target, REAL), state)
            del state

        def rebuild() -> nn.Module:
            with seeded(seed):
                return apply_weights(construct(target, REAL))

    check_module_tree(module, spec)  # before anything walks the tree recursively
    inputs, source = choose_inputs(target, module, input_shapes)
    check_input_count(module, inputs, source)
    return LoadedModel(
        module=module,
        inputs=inputs,
        spec=spec,
        source_file=target.source_file,
        on_meta=_all_meta(module),
        rebuild=rebuild,
        input_source=source,
    )


def _check_device(device: str) -> None:
    try:
        torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"unknown device '{device}' (use meta, cpu or cuda)") from None


def _all_meta(module: nn.Module) -> bool:
    tensors = [*module.parameters(), *module.buffers()]
    return bool(tensors) and all(t.is_meta for t in tensors)
