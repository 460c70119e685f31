"""Lets the diff tests import their report builders (``diff_docs.py``) under pytest's
importlib import mode."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
