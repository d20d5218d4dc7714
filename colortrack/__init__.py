"""colortrack: self-supervised tracking by learning to colorize video."""

__version__ = "0.1.0"
