"""Renderers of rewrite plans."""
