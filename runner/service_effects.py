"""What the runner does on entering each state of the service and model-health machines.

The tables in `machines/service.py` and `machines/model_health.py` say when states change;
these two tables say what happens then, in one place. Each entry names the method that acts
(`Supervisor.<name>` for services, `ModelServices.<name>` for model health).
"""

from __future__ import annotations

from typing import Any

from machines.base import Transitioned

SERVICE_ON_ENTER: dict[str, str] = {
    "starting": "begin_attempt",  # prestart (time-limited), spawn one process group, wait port
    "running": "answer_started",  # the waiting start-service replies `started` (`running`)
    "backoff": "schedule_restart",  # a restart after the back-off delay, if still wanted then
    "stopping": "end_process",  # SIGTERM, grace, SIGKILL the group (or abandon the launch)
    "stopped": "answer_ended",  # waiting starts reply `failed` (stopped); nothing restarts
    "exited": "answer_ended",  # an expected exit after a good run: not restarted
    "failed": "answer_ended",  # the agent's start failed: the reply says why
    "fatal": "answer_ended",  # too many failed starts in a row: given up until a new start
}

MODEL_ON_ENTER: dict[str, str] = {
    "healthy": "send_status",  # model-service-status is_healthy true
    "unhealthy": "send_status",  # model-service-status is_healthy false
    "stopped": "send_stopped",  # false too, unless the agent was already told unhealthy
}


def dispatch(table: dict[str, str], actor: Any, t: Transitioned) -> None:
    """Run the entry effect of `t.to_state`, if the table has one."""
    method = table.get(t.to_state)
    if method is not None:
        getattr(actor, method)(t)
