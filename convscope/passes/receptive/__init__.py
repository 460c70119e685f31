"""Receptive fields on the frozen graph: per-axis size, stride and offset along every path.

``walk.receptive_field(graph)`` is the pass; its results are in ``result``. Inside, each
tensor's state (``state``) carries a layout (``layout``: which dims hold which spatial
axes) and the exact input interval of every output position (``positions``); each op kind
maps states through its per-axis steps (``steps``) in ``windows``, ``contractions``,
``merges`` or ``views``.
"""
