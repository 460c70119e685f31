"""Lets the corpus test import its runner (``corpus.py``, shared with
``benchmarks/lint_recall.py``) under pytest's importlib import mode."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
