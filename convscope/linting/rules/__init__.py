"""The rules shipped with convscope, one module per rule.

:func:`convscope.linting.registry.default_registry` imports every module here whose name does
not start with ``_``; each defines exactly one :class:`~convscope.linting.rule.Rule` subclass.
The documentation of each rule (What it does / Why is this bad / Example / Suggested fix /
Options / References) and its ``bad.py`` / ``good.py`` fixtures live in the top-level
``rules/<CODE>-<name>/`` folder.
"""
