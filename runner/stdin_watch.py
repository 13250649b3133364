"""Noticing that a program waits for its standard input, in any language.

The runner holds the child's stdin (a terminal, runner/stdin_tty.py). Once the child has been
quiet for a moment, the watcher looks at the kernel's view of every process of the child's
session (runner/blocked_reads.py): a thread blocked in `read` on our stdin, or in
`poll`/`select`/`epoll_wait` with it among the descriptors it waits for. With nothing unread
in it, that is a program waiting for a line: the agent is asked (the prompt it printed has
already gone out as stdout; the answer is a secret if echo is off or the prompt names one),
and its answer goes in followed by a newline. A program that stopped reading (Node's
`rl.close()` on a terminal) is in no such wait, so it is not asked again and ends; one whose
event loop still lists stdin while it waits on a timer, after an answer, is asked only if it
is still waiting once that timer would have fired. Programs that never go quiet, or never
read, are never slowed: the watcher is a separate task that only reads small /proc files.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from runner.blocked_reads import FOREVER, session_members, wait_on
from runner.secret_prompt import is_secret_prompt
from runner.stdin_tty import ChildStdin

Ask = Callable[[bool], Awaitable[str | None]]  # is_password -> a line, None: nobody answers

QUIET = 0.03  # seconds without output before the first look
FIRST_PERIOD, MAX_PERIOD = 0.03, 0.25  # between looks while the program stays quiet
TIMER_GRACE = 0.25  # past a timed wait's own end: the program waits on, not on its timer


class Watched(Protocol):
    pid: int
    last_output: float
    tail: bytes
    stopping: bool
    stdin: ChildStdin

    def output_pending(self) -> bool: ...


async def watch_stdin(proc: Watched, ask: Ask) -> None:
    """Until cancelled: each time the program waits on an empty stdin, ask and feed a line."""
    period = FIRST_PERIOD
    answered = False  # the program was given a line already
    wait_ends: float | None = None  # a timed wait after an answer: not a question before this
    while not proc.stopping:
        quiet_for = time.monotonic() - proc.last_output
        await asyncio.sleep(max(QUIET - quiet_for, period))
        if proc.stopping or time.monotonic() - proc.last_output < QUIET:
            period, wait_ends = FIRST_PERIOD, None
            continue
        limit = _waits_on_empty_stdin(proc)
        if limit is not None and answered and limit != FOREVER:
            # A loop that stopped reading can keep stdin in its epoll set (libuv removes it
            # only when it fires): Node after `rl.close()` then waits on a timer. Ask only if
            # the program is still waiting once that wait would have ended.
            now = time.monotonic()
            wait_ends = wait_ends or now + limit + TIMER_GRACE
            limit = None if now < wait_ends else limit
        if limit is None:
            period = min(period * 1.5, MAX_PERIOD)
            continue
        # The prompt went out before the question: nothing left in the output pipes, and one
        # loop turn for the pump to forward what it has just read.
        seen = proc.last_output
        if proc.output_pending():
            continue
        await asyncio.sleep(0)
        if proc.last_output != seen or proc.stopping:
            continue
        text = await ask(is_secret(proc))
        if text is None or proc.stopping:
            return
        await proc.stdin.feed(text)
        period, answered, wait_ends = FIRST_PERIOD, True, None


def _waits_on_empty_stdin(proc: Watched) -> float | None:
    """How long the program's longest wait on its (empty) stdin may last; None: no wait."""
    if proc.stdin.closed or proc.stdin.unread() > 0:
        return None
    limits = [limit for pid in session_members(proc.pid)
              if (limit := wait_on(pid, proc.stdin.link)) is not None]
    return max(limits, default=None)


def is_secret(proc: Watched) -> bool:
    """Whether the answer is a secret: the terminal would not echo it (`read -s`, getpass),
    or the last line the program printed asks for a password, key, token, ..."""
    return proc.stdin.hides_input() or is_secret_prompt(proc.tail.decode("utf-8", "replace"))
