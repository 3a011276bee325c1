"""Stand-in for ``google.colab.errors`` (see the package docstring)."""


class Error(Exception):
    """Base class of Colab errors."""
