"""Quantization fragility: graph structure (`structure`), torch numerics on real weights
(`numeric`) and the entry points that measure a model (`measure`).
"""
