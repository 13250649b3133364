"""`krunner-inspect`: read event logs (see `tools.inspect.cli`)."""

from tools.inspect.cli import main

__all__ = ["main"]
