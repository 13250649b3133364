"""`python -m bench.leftovers REPORT ARGV...`: run ARGV as a child subreaper would, and say
what it left behind.

The command (a runner) is forked below this process, which is made a child subreaper, so
whatever the command leaves when it exits, even processes that left its process group and
session, comes to this process. SIGTERM and SIGINT are passed on. When the command has
exited, REPORT gets a JSON object: its exit code, the seconds from the first SIGTERM to its
exit, and the processes it left (which are then killed). Exits with the command's exit code.
An independent check of the runner's own bookkeeping: nothing here trusts its tokens.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
SETTLE = 0.2  # seconds for what the command left to be re-parented here and counted


class Child:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.term_at: float | None = None

    def forward(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGTERM and self.term_at is None:
            self.term_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)


def left_behind() -> list[dict[str, object]]:
    """This process's living descendants, with their command lines."""
    me, found = os.getpid(), []
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if fields[0] not in (b"Z", b"X"):
            parents[int(name)] = int(fields[1])
    for pid in parents:
        if pid == me:
            continue
        up = pid
        while up in parents and up != me:
            up = parents[up]
        if up == me or parents.get(pid) == me:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                cmd = "?"
            found.append({"pid": pid, "cmdline": cmd.strip()})
    return found


def reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> int:
    report, argv = Path(sys.argv[1]), sys.argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    pid = os.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    child = Child(pid)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, child.forward)
    code = 0
    while True:
        reaped, status = os.waitpid(-1, 0)
        if reaped == pid:
            code = os.waitstatus_to_exitcode(status)
            break
    exited = time.monotonic()
    time.sleep(SETTLE)
    reap_all()
    leftovers = left_behind()
    for entry in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(str(entry["pid"])), signal.SIGKILL)
    stop = None if child.term_at is None else round(exited - child.term_at, 3)
    report.write_text(json.dumps({"exit_code": code, "stop_seconds": stop,
                                  "leftovers": leftovers}))
    time.sleep(0.05)
    reap_all()
    return code


if __name__ == "__main__":
    sys.exit(main())
