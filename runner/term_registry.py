"""The runtimes term adds to the driver registry: the git terminal and the vendor runtimes."""

from __future__ import annotations

from runner.drivers import DRIVERS
from runner.terminal_driver import TerminalDriver
from runner.vendor.h2o import H2oDriver
from runner.vendor.polly import PollyDriver

TERM_DRIVERS = {"git": TerminalDriver, "vendor.h2o": H2oDriver, "vendor.aws_polly": PollyDriver}


def register_term_drivers() -> None:
    DRIVERS.update(TERM_DRIVERS)
