"""Signalling and ending a child's whole process group: the one implementation.

Every child the runner starts (batch commands, services, model servers, prestart commands)
leads its own session and process group, so a stop reaches everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

STOP_GRACE = 2.0  # seconds between SIGTERM and SIGKILL


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


async def end_group(proc: asyncio.subprocess.Process, grace: float = STOP_GRACE) -> None:
    """SIGTERM the group, SIGKILL whatever is left once the leader has gone or after `grace`."""
    signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), grace)
    signal_group(proc.pid, signal.SIGKILL)
    await proc.wait()
