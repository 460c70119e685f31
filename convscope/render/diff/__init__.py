"""Renderers of a diff: text and Markdown."""
