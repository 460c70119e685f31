"""The combined report (analysis + lint + optional profile and rewrite plan) and the `reports/`
gallery.
"""
