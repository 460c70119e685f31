"""Renderers of one analysis: terminal table, Markdown, JSON, notebook HTML."""
