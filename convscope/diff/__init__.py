"""Comparing two analyses (model specs or saved reports) and gating the change.

Everything works on the JSON documents of :mod:`convscope.analysis.schema`, so a saved report
and a freshly analyzed model spec are compared the same way::

    from convscope.diff.compare import diff_reports
    from convscope.diff.gate import check, parse_thresholds
    d = diff_reports(json.load(open("main.json")), json.load(open("head.json")))
    results = check(d, parse_thresholds("macs:+5%,params:+2%"))
    failed = any(r.exceeded for r in results)

Modules: ``metrics`` (what can be compared), ``reports`` (reading and validating a side),
``compare`` (the deltas and the layer alignment), ``result`` (the
:class:`~convscope.diff.result.Diff` and its parts), ``gate`` (``--fail-on`` thresholds),
``document`` (the JSON form) and
``errors``.
"""
