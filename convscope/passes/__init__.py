"""Analyses over a :class:`~convscope.ir.Graph`. Each returns a new mapping keyed by node id
and never mutates the graph."""
