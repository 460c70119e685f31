"""The linter: rules over the frozen graph and the analysis, their registry, the user
configuration, the engine that runs them, baselines and source locations.

Library use (``convscope.lint`` is :func:`convscope.linting.engine.lint`)::

    import convscope
    from convscope.linting.config import load_settings
    from convscope.linting.registry import default_registry

    analysis = convscope.analyze(model, (1, 3, 224, 224))
    result = convscope.lint(analysis, load_settings(default_registry()), module=model)
    for f in result.findings:
        print(f.code, f.layer, f.message)

Nothing in this package imports torch, rich or click: rules read the IR and the analysis,
and renderers live in :mod:`convscope.render`. One module per rule in ``rules/``; each
rule's documentation is its README in the top-level ``rules/`` catalog.
"""
