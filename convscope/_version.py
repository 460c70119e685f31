"""The package version, in a module of its own: the JSON documents, SARIF and the CLI name
it without importing the package entry point (which sits above every layer)."""

__version__ = "0.1.0"
