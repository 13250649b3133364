"""The runtimes term adds to the driver registry: the git terminal and the vendor runtimes."""

from __future__ import annotations

from runner.drivers import DRIVERS
from runner.terminal_driver import TerminalDriver

TERM_DRIVERS = {"git": TerminalDriver}


def register_term_drivers() -> None:
    DRIVERS.update(TERM_DRIVERS)
