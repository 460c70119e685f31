"""The error of a comparison."""

from __future__ import annotations

from convscope.errors import ConvscopeError


class DiffError(ConvscopeError):
    """A report that cannot be compared, or a malformed ``--fail-on`` threshold."""
