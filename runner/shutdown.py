"""A bounded shutdown: a deadline every step takes its time box from, and a watchdog behind it.

Docker sends SIGKILL 10 s after SIGTERM. The runner's orderly shutdown (runs end, services
stop, the kernel goes, the log is closed and exported) takes each step's time from one
`Deadline`, so it is over within `BUDGET` whatever one step does; should the event loop
itself be stuck, the `Watchdog` thread kills every process below the runner and exits at
`HARD_LIMIT`. Neither decides what the steps are: `runner/core.py` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from runner.process_group import kill_all_now

BUDGET = 7.0  # seconds from SIGTERM to the end of the orderly shutdown
HARD_LIMIT = 7.8  # seconds from SIGTERM to the watchdog's exit
WATCHDOG_EXIT = 70  # EX_SOFTWARE: the orderly shutdown did not finish in time
log = logging.getLogger("krunner")
T = TypeVar("T")


class Deadline:
    """The time left until the shutdown must be over; every step is boxed into it."""

    def __init__(self, started: float, budget: float = BUDGET) -> None:
        self.ends = started + budget
        self.overrun: list[str] = []  # steps cut off by their box

    def left(self, reserve: float = 0.0) -> float:
        return max(self.ends - reserve - time.monotonic(), 0.0)

    async def step(self, what: str, work: Awaitable[T], box: float, reserve: float = 0.0
                   ) -> T | None:
        """`work`, given at most `box` seconds and what the deadline (less `reserve`) allows."""
        limit = min(box, self.left(reserve))
        try:
            return await asyncio.wait_for(work, limit)
        except TimeoutError:
            self.overrun.append(what)
            log.warning("shutdown: %s did not finish within %.1f s", what, limit)
        except Exception:
            log.exception("shutdown: %s failed", what)
        return None

    def in_thread(self, what: str, work: Callable[[], Any], reserve: float = 0.0) -> bool:
        """Run blocking `work` in a daemon thread for what time is left; False if cut off
        (the thread is abandoned; the process exits without waiting for it)."""
        thread = threading.Thread(target=_quietly(work), name=f"shutdown:{what}", daemon=True)
        thread.start()
        thread.join(self.left(reserve))
        if thread.is_alive():
            self.overrun.append(what)
            print(f"krunner: shutdown: {what} did not finish in time; left unfinished",
                  file=sys.stderr, flush=True)
            return False
        return True


def _quietly(work: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        try:
            work()
        except Exception as e:  # said, never raised into a thread nobody joins
            print(f"krunner: shutdown step failed: {e!r}", file=sys.stderr, flush=True)
    return run


class Watchdog:
    """Once armed: if the process still exists `after` seconds later, everything below the
    runner is killed and the process exits, whatever the event loop is doing."""

    def __init__(self, after: float = HARD_LIMIT) -> None:
        self._after = after
        self._disarmed = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="shutdown-watchdog",
                                            daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        if self._disarmed.wait(self._after):
            return
        with contextlib.suppress(Exception):
            print(f"krunner: shutdown took longer than {self._after:g} s: killing every "
                  "process of the runner and exiting", file=sys.stderr, flush=True)
        kill_all_now()
        os._exit(WATCHDOG_EXIT)


def exit_now(code: int) -> None:
    """Leave without the interpreter's own exit (threads joined, atexit hooks), which can
    wait on anything; the runner has closed what matters by now."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
