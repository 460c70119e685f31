"""Errors that reach the user as one line and exit code 2.

Every failure caused by bad input (a model spec that cannot be loaded, a wrong input
shape, a malformed config, an unknown rule code) is raised as :class:`ConvscopeError`
with a message that names the problem. The CLI prints ``error: <message>`` and exits 2;
only ``--debug`` shows the traceback.
"""

from __future__ import annotations


class ConvscopeError(Exception):
    """A user-facing error: bad model, bad input, bad config. Exit code 2."""

    exit_code = 2


class ModelLoadError(ConvscopeError):
    """The MODEL spec could not be turned into a module."""


class InputError(ConvscopeError):
    """The example inputs are malformed or do not fit the model."""


class TraceError(ConvscopeError):
    """The model could not be run on its example inputs."""


class UnsupportedOpError(ConvscopeError):
    """``--strict`` was given and the graph holds ops without a cost formula."""
