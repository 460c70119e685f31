"""Renderers of lint results: text, JSON, SARIF, GitHub annotations, JUnit XML."""
