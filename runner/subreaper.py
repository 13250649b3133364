"""The runner as its children's subreaper: orphans come to it, and it reaps them.

With `PR_SET_CHILD_SUBREAPER`, a process whose parent dies (a daemon's double fork, a
`setsid` child left by a shell) is re-parented to the runner instead of to init, so it stays
below the runner where `runner/proctable.py` finds it. The runner must then reap those
orphans, or they stay zombies. It must not reap a child that someone else waits for (asyncio's
child watcher, jupyter_client's `Popen`): that would steal its exit status. So a zombie is
reaped here only when no one claims it: it is not `claimed` and has stayed a zombie for
`GRACE` seconds (asyncio's watcher threads reap theirs within microseconds).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import time

from runner import proctable

PR_SET_CHILD_SUBREAPER = 36
GRACE = 0.5  # seconds a zombie nobody claims waits before the runner reaps it
EXIT_CODES_KEPT = 256


def become_subreaper() -> bool:
    """Ask Linux to re-parent orphaned descendants to this process; False where it cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


_claimed: set[int] = set()  # pids a `Popen` of ours waits for (asyncio's are reaped at once)
_exit_codes: dict[int, int] = {}  # orphans reaped here, the latest few


def claim(pid: int) -> None:
    """`pid` is waited for by its starter (a `Popen`): never reap it here."""
    _claimed.add(pid)


def release(pid: int) -> None:
    _claimed.discard(pid)


def collect(pid: int) -> int | None:
    """An orphan's exit code (negative: the signal): reaped now if it waits, or as recorded
    when a reaper pass took it; None if it is not known to have exited."""
    if pid not in _claimed and _reap(pid):
        return _exit_codes.get(pid)
    return _exit_codes.get(pid)


def _reap(pid: int) -> bool:
    """Reap `pid` if it is a child of ours that has exited; True if this call reaped it."""
    try:
        reaped, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    if reaped != pid:
        return False
    if len(_exit_codes) >= EXIT_CODES_KEPT:
        _exit_codes.pop(next(iter(_exit_codes)))
    _exit_codes[pid] = os.waitstatus_to_exitcode(status)
    return True


class OrphanReaper:
    """Reaps the zombies no one else waits for, on SIGCHLD and again after the grace."""

    def __init__(self) -> None:
        self._first_seen: dict[int, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.TimerHandle | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_signal_handler(signal.SIGCHLD, self._schedule, 0.0)

    def _schedule(self, delay: float) -> None:
        if self._loop is None or (self._pending is not None and delay == 0.0):
            return
        self._pending = self._loop.call_later(delay, self._run)

    def _run(self) -> None:
        self._pending = None
        if self.reap():
            self._schedule(GRACE)

    def reap(self, now: float | None = None) -> bool:
        """One pass; True when zombies are left to look at again after the grace."""
        if not _has_waitable_child():
            self._first_seen.clear()
            return False
        now = time.monotonic() if now is None else now
        zombies = [pid for pid in proctable.zombie_children() if pid not in _claimed]
        self._first_seen = {pid: self._first_seen.get(pid, now) for pid in zombies}
        waiting = False
        for pid, since in list(self._first_seen.items()):
            if now - since < GRACE:
                waiting = True
                continue
            _reap(pid)
            del self._first_seen[pid]
        return waiting


def _has_waitable_child() -> bool:
    """Whether any child has exited (looked at, not reaped)."""
    try:
        return os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return False
