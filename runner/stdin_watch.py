"""Noticing that a program waits for its standard input, in any language.

The runner holds the child's stdin (a terminal, runner/stdin_tty.py). Once the child has been
quiet for a moment, the watcher looks at the kernel's view of every process of the child's
session: `/proc/<pid>/task/<tid>/syscall` shows a thread blocked in `read`/`readv`/`pread64`
on a descriptor that is our stdin, or in `poll`/`select`/`epoll_wait` with it among the
descriptors it waits for (pollfd array and fd_set read through `/proc/<pid>/mem`, an epoll
set through `/proc/<pid>/fdinfo/<epfd>`). With nothing unread in it, that is a program
waiting for a line: the agent is asked (the prompt it printed has already gone out as
stdout; the answer is a secret if echo is off or the prompt names one), and its answer goes
in followed by a newline. A program that stopped reading (Node's `rl.close()` on a terminal)
is in no such wait, so it is not asked again and ends. Programs that never go quiet, or never
read, are never slowed: the watcher is a separate task that only reads small /proc files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from runner.secret_prompt import is_secret_prompt
from runner.stdin_tty import ChildStdin

Ask = Callable[[bool], Awaitable[str | None]]  # is_password -> a line, None: nobody answers

QUIET = 0.03  # seconds without output before the first look
FIRST_PERIOD, MAX_PERIOD = 0.03, 0.25  # between looks while the program stays quiet
POLLIN = 0x1
MAX_FDS = 4096

# syscall numbers -> how the descriptors waited on are found
_SYSCALLS = {
    "x86_64": {0: "read", 19: "read", 17: "read", 7: "poll", 271: "poll", 23: "select",
               270: "select", 232: "epoll", 281: "epoll", 441: "epoll"},
    "aarch64": {63: "read", 65: "read", 67: "read", 73: "poll", 72: "select", 22: "epoll",
                441: "epoll"},
}
SYSCALLS = _SYSCALLS.get(platform.machine(), {})


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
    while not proc.stopping:
        quiet_for = time.monotonic() - proc.last_output
        await asyncio.sleep(max(QUIET - quiet_for, period))
        if proc.stopping or time.monotonic() - proc.last_output < QUIET:
            period = FIRST_PERIOD
            continue
        if not _waits_on_empty_stdin(proc):
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
        period = FIRST_PERIOD


def _waits_on_empty_stdin(proc: Watched) -> bool:
    if proc.stdin.closed or proc.stdin.unread() > 0:
        return False
    return any(waits_on(pid, proc.stdin.link) for pid in session_members(proc.pid))


def is_secret(proc: Watched) -> bool:
    """Whether the answer is a secret: the terminal would not echo it (`read -s`, getpass),
    or the last line the program printed asks for a password, key, token, ..."""
    return proc.stdin.hides_input() or is_secret_prompt(proc.tail.decode("utf-8", "replace"))


def session_members(sid: int) -> list[int]:
    """Processes of the session the runner started the child in (its pid is the session id)."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 3 and int(fields[3]) == sid:
            members.append(int(name))
    return members


def waits_on(pid: int, link: str) -> bool:
    """Whether a thread of `pid` is blocked waiting for data from the pipe named `link`."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                parts = f.read().split()
        except OSError:
            continue
        if len(parts) < 4 or not parts[0].isdigit():
            continue  # "running", or blocked outside a syscall
        kind = SYSCALLS.get(int(parts[0]))
        args = [int(a, 16) for a in parts[1:4]]
        if kind is not None and link in _waited_fds(pid, kind, args):
            return True
    return False


def _waited_fds(pid: int, kind: str, args: list[int]) -> set[str]:
    """What the descriptors a blocked syscall waits on point to (`pipe:[ino]`, ...)."""
    if kind == "read":
        fds = [args[0]]
    elif kind == "poll":
        fds = _poll_fds(pid, args[0], min(args[1], MAX_FDS))
    elif kind == "select":
        fds = _select_fds(pid, args[1], min(args[0], MAX_FDS))
    else:
        fds = _epoll_fds(pid, args[0])
    targets = set()
    for fd in fds:
        with contextlib.suppress(OSError):
            targets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return targets


def _read_memory(pid: int, address: int, size: int) -> bytes:
    if not address or size <= 0:
        return b""
    try:
        with open(f"/proc/{pid}/mem", "rb") as mem:
            mem.seek(address)
            return mem.read(size)
    except (OSError, ValueError, OverflowError):
        return b""


def _poll_fds(pid: int, address: int, count: int) -> list[int]:
    raw = _read_memory(pid, address, count * 8)
    entries = (struct.unpack_from("ihh", raw, i) for i in range(0, len(raw) - 7, 8))
    return [fd for fd, events, _ in entries if fd >= 0 and events & POLLIN]


def _select_fds(pid: int, address: int, nfds: int) -> list[int]:
    raw = _read_memory(pid, address, (nfds + 7) // 8)
    return [fd for fd in range(nfds) if fd // 8 < len(raw) and raw[fd // 8] >> (fd % 8) & 1]


def _epoll_fds(pid: int, epfd: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/fdinfo/{epfd}") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    fds = []
    for line in lines:
        match = re.match(r"tfd:\s*(\d+)\s+events:\s*([0-9a-f]+)", line)
        if match and int(match.group(2), 16) & POLLIN:
            fds.append(int(match.group(1)))
    return fds
