"""The runner's own log lines: to its stderr (the container log) and into the event log.

They are never forwarded to the agent, so a user's run output carries only its own output.
The first line names krunner, its version and where its event log is, so an operator
reading a container's log can tell which runner served the session and where to look.
"""

from __future__ import annotations

import logging
import sys
from typing import Protocol

from runner import build_info
from transcripts.events import KERNEL, LOG, Event, stamped
from transcripts.location import LogPlace


class Emitter(Protocol):
    def emit(self, event: Event) -> None: ...


class EventLogHandler(logging.Handler):
    """Turns each record into a `log` event of the kernel stream."""

    def __init__(self, target: Emitter) -> None:
        super().__init__()
        self._target = target

    def emit(self, record: logging.LogRecord) -> None:
        data: dict[str, str] = {"level": record.levelname, "message": record.getMessage()}
        if record.exc_info:
            data["traceback"] = logging.Formatter().formatException(record.exc_info)
        self._target.emit(stamped(KERNEL, LOG, record.levelname.lower(), data))


def install_logging(target: Emitter, *, debug: bool, prefix: str = "krunner",
                    version: str | None = None, log_place: LogPlace | None = None) -> None:
    """Route the `krunner` logger to stderr and to the event log; log the banner line."""
    logger = logging.getLogger("krunner")
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter(f"{prefix}: [%(levelname)s] %(message)s"))
    logger.addHandler(console)
    logger.addHandler(EventLogHandler(target))
    if version is not None:  # the log itself records the version in its session row
        console.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0,
                                         banner(version, log_place), None, None))


def banner(version: str, log_place: LogPlace | None = None) -> str:
    """`krunner <version> (Backend.AI kernel runner, ...)`: the first line of the log."""
    where = (f"; event log: {log_place.path} ({log_place.reason})"
             if log_place is not None else "")
    python = ".".join(map(str, sys.version_info[:3]))
    return (f"krunner {version} (Backend.AI kernel runner for {build_info.agent_line()}) "
            f"on Python {python} ({sys.executable}){where}")
