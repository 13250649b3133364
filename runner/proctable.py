"""Reading /proc: which processes descend from the runner, and whose they are.

Every child the runner starts carries an owner token in its environment (`KRUNNER_OWNER`),
which its own children inherit, also those that left the process group with `setsid` and
were re-parented to the runner (a child subreaper, `runner/subreaper.py`). So the processes
of a run, a service or the kernel are found by their token even when nothing links them to
the process the runner started any more. Reading only: nothing here signals or waits.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass

OWNER_VAR = "KRUNNER_OWNER"
_ENTRY = OWNER_VAR.encode() + b"="
_tokens = itertools.count(1)


@dataclass(frozen=True, slots=True)
class ProcInfo:
    """One line of /proc/<pid>/stat, the fields we use."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str

    @property
    def zombie(self) -> bool:
        return self.state in ("Z", "X")


def new_token(what: str) -> str:
    """An owner token unique to this runner process: `<runner pid>/<what>/<n>`."""
    return f"{os.getpid()}/{what}/{next(_tokens)}"


def with_token(env: dict[str, str], token: str) -> dict[str, str]:
    """`env` with the owner token set."""
    return {**env, OWNER_VAR: token}


def read_stat(pid: int) -> ProcInfo | None:
    """The process's stat fields, or None once it is gone (reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    rest = raw[raw.rfind(b")") + 2:].split()  # the name may hold spaces and parentheses
    try:
        return ProcInfo(pid, int(rest[1]), int(rest[2]), int(rest[3]), rest[0].decode())
    except (IndexError, ValueError):
        return None


def table() -> dict[int, ProcInfo]:
    """Every process this runner can see."""
    procs: dict[int, ProcInfo] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = read_stat(int(name))
            if info is not None:
                procs[info.pid] = info
    return procs


def descendants(procs: dict[int, ProcInfo], root: int) -> set[int]:
    """The pids below `root` in `procs` (not `root` itself)."""
    children: dict[int, list[int]] = {}
    for info in procs.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found: set[int] = set()
    todo = list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def token_of(pid: int) -> str | None:
    """The owner token in the process's environment (None: none, or unreadable)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
    except OSError:
        return None
    for entry in environ.split(b"\0"):
        if entry.startswith(_ENTRY):
            return entry[len(_ENTRY):].decode(errors="replace")
    return None


def owned(token: str, groups: tuple[int, ...] = ()) -> list[int]:
    """Living processes that carry `token`, or (below the runner) are in one of `groups`
    (process group or session ids), and what descends from them.

    The token is looked for everywhere, not only below the runner: a scan of /proc is not
    atomic, and a process re-parented while it is read may seem to hang from nowhere."""
    return _living_families(lambda pid: token_of(pid) == token, groups)


def all_descendants() -> list[int]:
    """Every living process below the runner, or carrying one of its tokens."""
    prefix = f"{os.getpid()}/"
    return _living_families(lambda pid: (token_of(pid) or "").startswith(prefix), (),
                            everything_below=True)


def _living_families(carries: Callable[[int], bool], groups: tuple[int, ...],
                     everything_below: bool = False) -> list[int]:
    me = os.getpid()
    procs = table()
    mine = descendants(procs, me)
    roots = {pid for pid in procs if pid != me and (
        (pid in mine and (everything_below or procs[pid].pgid in groups
                          or procs[pid].sid in groups)) or carries(pid))}
    family = set(roots)
    for pid in roots:
        family |= descendants(procs, pid)
    family.discard(me)
    return sorted(pid for pid in family if not procs[pid].zombie)


def zombie_children() -> list[int]:
    """The runner's children that have exited and wait to be reaped."""
    me = os.getpid()
    return [info.pid for info in table().values() if info.ppid == me and info.zombie]


def alive(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie has)."""
    info = read_stat(pid)
    return info is not None and not info.zombie
