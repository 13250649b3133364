"""The service machine's effect table: what the runner does on entering each service state.

`machines/service.py` says when a service's state changes; this table says what happens then.
Each entry names the `Supervisor` method (runner/supervisor.py) that acts.
"""

from __future__ import annotations

from typing import Any

from machines.base import Transitioned

ON_ENTER: dict[str, str] = {
    "starting": "begin_attempt",  # prestart (time-limited), spawn one process group, wait port
    "running": "answer_started",  # the waiting start-service replies `started` (`running`)
    "backoff": "schedule_restart",  # a restart after the back-off delay, if still wanted then
    "stopping": "end_process",  # SIGTERM, grace, SIGKILL the group (or abandon the launch)
    "stopped": "answer_ended",  # waiting starts reply `failed` (stopped); nothing restarts
    "exited": "answer_ended",  # an expected exit after a good run: not restarted
    "failed": "answer_ended",  # the agent's start failed: the reply says why
    "fatal": "answer_ended",  # too many failed starts in a row: given up until a new start
}


def dispatch(table: dict[str, str], actor: Any, t: Transitioned) -> None:
    """Run the entry effect of `t.to_state`, if the table has one."""
    method = table.get(t.to_state)
    if method is not None:
        getattr(actor, method)(t)
