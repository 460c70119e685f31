"""Comparing two analyses (model specs or saved reports) and gating the change."""
