"""Receptive fields on the frozen graph: per-axis size, stride and offset along every path."""
