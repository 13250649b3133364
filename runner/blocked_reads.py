"""What a process is blocked waiting for, as the kernel shows it: the descriptors, and for how long.

`/proc/<pid>/task/<tid>/syscall` names the syscall a sleeping thread is in and its arguments:
`read`/`readv`/`pread64` on one descriptor, `poll`/`ppoll` and `select`/`pselect6` on the sets
given (read through `/proc/<pid>/mem`), `epoll_wait`/`epoll_pwait(2)` on the descriptors of an
epoll set (`/proc/<pid>/fdinfo/<epfd>`), each with its timeout (none for a read). A descriptor
is named as `/proc/<pid>/fd` shows it (`/dev/pts/3`, `pipe:[123]`). Only small /proc files
are read; nothing here decides anything or touches the process.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import re
import struct

POLLIN = 0x1
MAX_FDS = 4096
FOREVER = math.inf

# syscall number -> (how the descriptors are found, where the timeout is, in what form)
_SYSCALLS = {
    "x86_64": {0: ("read", 0, ""), 19: ("read", 0, ""), 17: ("read", 0, ""),
               7: ("poll", 2, "ms"), 271: ("poll", 2, "timespec"),
               23: ("select", 4, "timeval"), 270: ("select", 4, "timespec"),
               232: ("epoll", 3, "ms"), 281: ("epoll", 3, "ms"),
               441: ("epoll", 3, "timespec")},
    "aarch64": {63: ("read", 0, ""), 65: ("read", 0, ""), 67: ("read", 0, ""),
                73: ("poll", 2, "timespec"), 72: ("select", 4, "timespec"),
                22: ("epoll", 3, "ms"), 441: ("epoll", 3, "timespec")},
}
SYSCALLS = _SYSCALLS.get(platform.machine(), {})


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


def wait_on(pid: int, link: str) -> float | None:
    """How long a thread of `pid` blocked waiting for data from `link` may wait (seconds,
    FOREVER without a timeout); None if no thread is."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    longest: float | None = None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                parts = f.read().split()
        except OSError:
            continue
        if len(parts) < 7 or not parts[0].isdigit():
            continue  # "running", or blocked outside a syscall
        how = SYSCALLS.get(int(parts[0]))
        args = [int(a, 16) for a in parts[1:7]]
        if how is not None and link in _waited_fds(pid, how[0], args):
            limit = _timeout(pid, args[how[1]], how[2])
            longest = limit if longest is None else max(longest, limit)
    return longest


def _timeout(pid: int, arg: int, form: str) -> float:
    if form == "ms":
        ms = struct.unpack("i", struct.pack("I", arg & 0xFFFFFFFF))[0]
        return FOREVER if ms < 0 else ms / 1000
    if form in ("timespec", "timeval"):
        raw = _read_memory(pid, arg, 16)  # NULL: no timeout
        if len(raw) < 16:
            return FOREVER
        seconds, fraction = struct.unpack("qq", raw)
        return seconds + fraction / (1e9 if form == "timespec" else 1e6)
    return FOREVER


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
