"""``--format json``: the schema of :mod:`convscope.analysis.schema`, pretty-printed and stable."""

from __future__ import annotations

import json

from convscope.analysis.build import Analysis
from convscope.analysis.schema import to_dict


def render(a: Analysis) -> str:
    return json.dumps(to_dict(a), indent=2, sort_keys=False) + "\n"
