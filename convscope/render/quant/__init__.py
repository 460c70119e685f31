"""Renderers of the quantization-fragility report."""
