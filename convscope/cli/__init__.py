"""The `convscope` command line: one module per command; each parses, calls the public API,
renders and sets the exit code.
"""
