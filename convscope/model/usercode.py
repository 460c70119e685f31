"""Running the model's own code: its prints kept off stdout, its attempts to download
weights recognised, and what it returned named by type in messages.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from convscope.errors import describe

__all__ = ["download_message", "is_download_error", "type_name", "user_code"]


# Exception types that mean "tried to reach the network" (urllib, requests/urllib3,
# huggingface_hub, socket), matched by name so none of those packages must be installed.
_NETWORK_ERRORS = frozenset(
    {
        "URLError",
        "HTTPError",
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "MaxRetryError",
        "NewConnectionError",
        "LocalEntryNotFoundError",
        "gaierror",
    }
)
_DOWNLOAD_HINT = (
    "convscope cannot download weights; pass a local checkpoint with --weights FILE, or "
    "build the model without pretrained weights (e.g. pretrained=False or weights=None)"
)


def is_download_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if any(c.__name__ in _NETWORK_ERRORS for c in type(cur).__mro__):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def download_message(what: str, exc: BaseException) -> str:
    return f"{what} tries to download weights ({describe(exc)}): {_DOWNLOAD_HINT}"


@contextlib.contextmanager
def user_code() -> Iterator[None]:
    """Run model-file code with its prints ("Downloading...") on stderr, so stdout holds
    only the report (JSON, markdown) even when the model talks."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def type_name(obj: Any) -> str:
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"
