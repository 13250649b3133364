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
    """One machine per source, created by its creating event, fed by `consume`.

    `by_library`: every machine dispatches through `transitions` itself rather than the
    compiled table (the reference they are checked against; `machines.base`)."""

    def __init__(self, sink: Sink, *, by_library: bool = False) -> None:
        self._sink = sink
        self._by_library = by_library
        self._machines: dict[str, Lifecycle] = {}
        self._spare_runs: list[Run] = []
        self._last_build = LastBuild()  # what the runs of this session share

    def consume(self, event: Event) -> None:
        self.feed(event.source, event.kind, event.name, event.data)

    def feed(self, source: str, kind: str, name: str, data: Any) -> None:
        """`consume` of an event given by its parts (replay feeds millions)."""
        stream = stream_kind(source)
        trigger = ROUTES.get((stream, kind, name))
        if trigger is None:
            return
        machine = self._machines.get(source)
        if machine is None:
            if trigger != CREATORS[stream]:
                self._sink(TriggerRejected(source, trigger, "absent",
                                           {"reason": "no such machine"}))
                return
            machine = self._machines[source] = self._create(stream, source, name)
        before = machine.state
        machine.fire(trigger, data if type(data) is dict else None)
        if stream == "run" and machine.state != before and machine.state in RUN_FINAL:
            del self._machines[source]  # ended runs take no more triggers
            self._spare_runs.append(machine)  # type: ignore[arg-type]

    def _create(self, stream: str, source: str, name: str) -> Lifecycle:
        machine = self._made(stream, source, name)
        if self._by_library and machine._library is None:
            machine.use_library()
        return machine

    def _made(self, stream: str, source: str, name: str) -> Lifecycle:
        sink = self._sink
        if stream == "run":
            if self._spare_runs:
                return self._spare_runs.pop().reuse(source, name)
            return Run(source, sink, op=name, last_build=self._last_build)
        if stream == "service":
            return Service(source, sink)
        if stream == "model":
            return ModelHealth(source, sink)
        if stream == "terminal":
            return TerminalShell(source, sink)
        return Kernel(KERNEL, sink)

    def state(self, source: str) -> str | None:
        machine = self._machines.get(source)
        return machine.state if machine is not None else None

    def get(self, source: str) -> Any:
        return self._machines.get(source)

    def sources(self) -> list[str]:
        return list(self._machines)



__all__ = ["Machines", "Transitioned", "TriggerRejected"]
