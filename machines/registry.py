"""All machines of one session, and the routing of events to their triggers.

`consume(event)` is the only way machines move, in the runner and in replay alike: the same
recorded inputs and observations give the same transitions. Routing only: it must never
decide a move itself (that is each table's business), and no machine is moved any other way.
"""

from __future__ import annotations

from typing import Any

from machines import vocabulary as v
from machines.base import Lifecycle, Sink, Transitioned, TriggerRejected
from machines.events import INPUT, KERNEL, OBSERVATION, Event, stream_kind
from machines.kernel import Kernel
from machines.model_health import ModelHealth
from machines.run import FINAL, LastBuild, Run
from machines.service import Service
from machines.terminal import TerminalShell

# (stream kind, event kind, event name) -> trigger
ROUTES: dict[tuple[str, str, str], str] = {
    ("kernel", OBSERVATION, v.RUNNER_STARTED): "started",
    ("kernel", OBSERVATION, v.DRIVER_READY): "ready",
    ("kernel", OBSERVATION, v.DRIVER_FAILED): "fail",
    ("kernel", OBSERVATION, v.KERNEL_DIED): "died",
    ("kernel", OBSERVATION, v.KERNEL_RESTARTED): "restarted",
    ("kernel", OBSERVATION, v.KERNEL_RESTART_FAILED): "fail",
    ("kernel", OBSERVATION, v.SHUTDOWN_REQUESTED): "terminate",
    ("kernel", OBSERVATION, v.RUNNER_STOPPED): "stopped",
    **{("run", INPUT, op): "submitted" for op in v.RUN_OPS},
    ("run", OBSERVATION, v.RUN_STARTED): "start",
    ("run", OBSERVATION, v.INPUT_REQUESTED): "wait_input",
    ("run", INPUT, v.INPUT_OP): "input",
    ("run", INPUT, v.INTERRUPT_OP): "interrupt",
    ("run", OBSERVATION, v.RUN_ENDED): "end",
    ("service", OBSERVATION, v.SERVICE_START_REQUESTED): "start",
    ("service", OBSERVATION, v.SERVICE_SPAWNED): "spawned",
    ("service", OBSERVATION, v.SERVICE_PORT_OPENED): "port_opened",
    ("service", OBSERVATION, v.SERVICE_START_FAILED): "start_failed",
    ("service", INPUT, v.SHUTDOWN_SERVICE_OP): "stop",
    ("service", OBSERVATION, v.PROCESS_EXITED): "exited",
    ("service", OBSERVATION, v.SERVICE_LAUNCH_ABANDONED): "exited",
    ("service", OBSERVATION, v.SERVICE_STOP_REQUESTED): "stop",
    ("service", OBSERVATION, v.SERVICE_RESTARTING): "restarting",
    ("model", OBSERVATION, v.MODEL_CONFIGURED): "configured",
    ("model", OBSERVATION, v.PROBE_SUCCEEDED): "probe_succeeded",
    ("model", OBSERVATION, v.PROBE_FAILED): "probe_failed",
    ("model", OBSERVATION, v.PROCESS_EXITED): "exited",
    ("model", OBSERVATION, v.HEALTH_CHECK_ABSENT): "assume_healthy",
    ("model", OBSERVATION, v.MODEL_STOPPED): "stop",
    ("terminal", OBSERVATION, v.TERMINAL_BOUND): "start",
    ("terminal", OBSERVATION, v.SHELL_STARTED): "spawned",
    ("terminal", OBSERVATION, v.SHELL_START_FAILED): "start_failed",
    ("terminal", OBSERVATION, v.SHELL_EXITED): "exited",
    ("terminal", OBSERVATION, v.SHELL_RESTARTING): "restart",
    ("terminal", OBSERVATION, v.SHELL_START_REQUESTED): "retry",
    ("terminal", OBSERVATION, v.TERMINAL_STOP_REQUESTED): "stop",
}

RUN_FINAL = frozenset(FINAL)

# The trigger that brings a machine of each kind into being.
CREATORS = {"kernel": "started", "run": "submitted", "service": "start", "model": "configured",
            "terminal": "start"}


class Machines:
    """One machine per source, created by its creating event, fed by `consume`."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._machines: dict[str, Lifecycle] = {}
        self._spare_runs: list[Run] = []
        self._last_build = LastBuild()  # what the runs of this session share

    def consume(self, event: Event) -> None:
        kind = stream_kind(event.source)
        trigger = ROUTES.get((kind, event.kind, event.name))
        if trigger is None:
            return
        machine = self._machines.get(event.source)
        if machine is None:
            if trigger != CREATORS[kind]:
                self._sink(TriggerRejected(event.source, trigger, "absent",
                                           {"reason": "no such machine"}))
                return
            machine = self._machines[event.source] = self._create(kind, event)
        data = event.data if type(event.data) is dict else None
        before = machine.state
        machine.fire(trigger, data)
        if kind == "run" and machine.state != before and machine.state in RUN_FINAL:
            del self._machines[event.source]  # ended runs take no more triggers
            self._spare_runs.append(machine)  # type: ignore[arg-type]

    def _create(self, kind: str, event: Event) -> Lifecycle:
        sink = self._sink
        if kind == "run":
            if self._spare_runs:
                return self._spare_runs.pop().reuse(event.source, event.name)
            return Run(event.source, sink, op=event.name, last_build=self._last_build)
        if kind == "service":
            return Service(event.source, sink)
        if kind == "model":
            return ModelHealth(event.source, sink)
        if kind == "terminal":
            return TerminalShell(event.source, sink)
        return Kernel(KERNEL, sink)

    def state(self, source: str) -> str | None:
        machine = self._machines.get(source)
        return machine.state if machine is not None else None

    def get(self, source: str) -> Any:
        return self._machines.get(source)

    def sources(self) -> list[str]:
        return list(self._machines)



__all__ = ["Machines", "Transitioned", "TriggerRejected"]
