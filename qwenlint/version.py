"""The version of qwenlint (one home: the package, the CLI and SARIF read it)."""

__version__ = "0.1.0"
