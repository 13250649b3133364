"""Signalling and ending a child's whole family: the one implementation.

Every child the runner starts (batch commands, services, model servers, prestart commands)
leads its own session and process group, so a signal to the group reaches everything it
started that stayed there. What left the group (`setsid`, a daemon's double fork) is found
by the owner token it inherited (`runner/proctable.py`): a `Family` is the group and those.
Stopping means the family: nothing a run or a service started outlives its stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from runner import proctable

STOP_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
POLL = 0.05
CONFIRM_SCANS = 2  # empty scans in a row that mean "gone"
KILL_ROUNDS_WAIT = 1.0  # after SIGKILL, how long to wait for the family to be gone


def signal_group(pgid: int, signum: int) -> bool:
    """Send `signum` to the group; False when nothing of the group is left."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists (zombies included)."""
    return signal_group(pgid, 0)


def signal_pids(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


class Family:
    """A child, its process group, and every process that carries its owner token."""

    def __init__(self, what: str) -> None:
        self.token = proctable.new_token(what)
        self.leader: int | None = None
        self.seen: list[int] = []  # the members the last scan that found any found

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """The child's environment, with the token its descendants inherit."""
        return proctable.with_token(env, self.token)

    def members(self) -> list[int]:
        """The family's living processes (the leader included while it lives)."""
        groups = (self.leader,) if self.leader is not None else ()
        members = proctable.owned(self.token, groups)
        if members:
            self.seen = members
        return members

    def signal(self, signum: int) -> list[int]:
        """Signal the group and every member; the members signalled."""
        if self.leader is not None:
            signal_group(self.leader, signum)
        members = self.members()
        signal_pids(members, signum)
        return members

    async def lingering(self) -> list[int]:
        """The members, looked for again a few times if none are seen: a scan of /proc can
        miss a process forked or re-parented while it runs (a daemon's double fork)."""
        for _ in range(CONFIRM_SCANS):
            members = self.members()
            if members:
                return members
            await asyncio.sleep(POLL)
        return []

    async def wait_gone(self, timeout: float | None = None) -> bool:
        """Wait until no member lives (seen so twice in a row); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        known = self.members()
        empty_scans = 0
        while True:
            empty_scans = 0 if known else empty_scans + 1
            if empty_scans >= CONFIRM_SCANS:
                return True
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(POLL if deadline is not None or empty_scans else 0.25)
            known = [pid for pid in known if proctable.alive(pid)] or self.members()

    async def end(self, grace: float = STOP_GRACE) -> bool:
        """SIGTERM the family, SIGKILL what is left after `grace`; True once it is gone."""
        self.signal(signal.SIGTERM)
        if await self.wait_gone(grace):
            return True
        return await self.kill()

    async def kill(self) -> bool:
        """SIGKILL the family until nothing of it is left (a forking member keeps losing)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILL_ROUNDS_WAIT
        empty_scans = 0
        while empty_scans < CONFIRM_SCANS:
            empty_scans = 0 if self.signal(signal.SIGKILL) else empty_scans + 1
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(POLL / 5)
        return True


async def end_group(proc: asyncio.subprocess.Process, grace: float = STOP_GRACE,
                    family: Family | None = None) -> None:
    """SIGTERM the group (and the family), SIGKILL whatever is left once the leader has gone
    or after `grace`."""
    signal_group(proc.pid, signal.SIGTERM)
    if family is not None:
        signal_pids(family.members(), signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), grace)
    signal_group(proc.pid, signal.SIGKILL)
    await proc.wait()
    if family is not None and not await family.wait_gone(grace):
        await family.kill()


async def end_all(grace: float) -> list[int]:
    """Runner shutdown: SIGTERM every process below the runner, SIGKILL after `grace`;
    the pids that had to be killed."""
    loop = asyncio.get_running_loop()
    pids = proctable.all_descendants()
    signal_pids(pids, signal.SIGTERM)
    deadline = loop.time() + grace
    while pids and loop.time() < deadline:
        await asyncio.sleep(POLL)
        pids = [pid for pid in pids if proctable.alive(pid)]
    killed: list[int] = []
    for _ in range(20):
        left = proctable.all_descendants()
        if not left:
            break
        killed.extend(pid for pid in left if pid not in killed)
        signal_pids(left, signal.SIGKILL)
        await asyncio.sleep(POLL / 5)
    return killed


def kill_all_now() -> None:
    """The last resort (no event loop needed): SIGKILL every process below the runner."""
    for _ in range(5):
        left = proctable.all_descendants()
        if not left:
            return
        signal_pids(left, signal.SIGKILL)
