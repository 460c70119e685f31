"""Analyses over a :class:`~convscope.ir.graph.Graph`. Each returns a new mapping keyed by node id
and never mutates the graph."""
