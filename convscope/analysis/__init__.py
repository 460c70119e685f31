"""Per-layer rows, totals and typed extra sections of an analysis, its versioned JSON schema,
and the entry points that trace and analyze a model.
"""
