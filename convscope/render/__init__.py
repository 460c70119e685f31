"""Renderers. Only this package imports rich (and, later, jinja2 / plotly)."""
