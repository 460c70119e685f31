"""Renderers of latency profiles."""
