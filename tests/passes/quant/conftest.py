"""Lets the quantization tests import their model and oracles (``quant_models.py``) under
pytest's importlib import mode."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
