"""Model services (PROTOCOL §7): start the server, probe its health, tell the agent on change.

Probes emit observations; the model-health machine decides healthy/unhealthy with its
thresholds; `on_transition` sends `model-service-status` when it moves. Verdicts follow each
probe at once (the original waited for the end of each window and never reset its failure
count, so scattered failures made it flap).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from machines import vocabulary as v
from machines.base import Transitioned
from runner import prestart
from runner.context import Context
from runner.probe import probe
from runner.servicedefs import LaunchRefused
from runner.supervisor import Launch, Supervisor
from transcripts.events import OBSERVATION, model_source, stamped

MIN_PERIOD = 0.1  # `max_wait_time: 0` is allowed by the schema; never spin


class ModelServices:
    """One health loop per model, owned here and cancelled on stop."""

    def __init__(self, ctx: Context, supervisor: Supervisor) -> None:
        self._ctx = ctx
        self._supervisor = supervisor
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._models: set[str] = set()
        self.service_names: dict[str, str] = {}  # "<model>-<port>" -> model name

    async def start(self, model: dict[str, Any]) -> dict[str, Any]:
        """Answer one `start-model-service` (the `model-service-result` payload)."""
        name = model["name"]
        source = model_source(name)
        try:
            launch, check = await self._prepare(model)
        except LaunchRefused as e:
            self._ctx.emit(stamped(source, OBSERVATION, v.SERVICE_START_FAILED,
                                   {"reason": str(e)}))
            return {"status": "failed", "error": str(e)}
        params = health_params(check)
        self._ctx.emit(stamped(source, OBSERVATION, v.MODEL_CONFIGURED, params))
        service = f"{name}-{launch.port}"
        self.service_names[service] = name
        reply = await self._supervisor.launch(service, launch, wait_port=False)
        if reply["status"] != "started":
            return reply
        self._models.add(name)
        if check is None:
            # after the reply has gone out: the agent expects the result before the status
            asyncio.get_running_loop().call_soon(
                self._ctx.emit, stamped(source, OBSERVATION, v.HEALTH_CHECK_ABSENT, {}))
        else:
            path, expected = str(check.get("path", "/")), check.get("expected_status_code")
            self._loops[name] = self._ctx.spawn(
                self._health_loop(name, int(launch.port or 0), path, int(expected or 200),
                                  params), owner=f"health:{name}")
        return reply

    async def _prepare(self, model: dict[str, Any]) -> tuple[Launch, dict[str, Any] | None]:
        service = model.get("service")
        if not isinstance(service, dict):
            raise LaunchRefused("model service definition has no 'service'")
        model_path = Path(str(model.get("model_path", "")))
        if not model.get("model_path") or not model_path.is_dir():
            raise LaunchRefused(f"the model directory does not exist: {model_path}")
        command, port = service.get("start_command"), service.get("port")
        if isinstance(command, str):
            command = [service.get("shell", "/bin/bash"), "-c", command]
        if not (isinstance(command, list) and command and all(isinstance(c, str)
                                                              for c in command)):
            raise LaunchRefused("'start_command' must be a non-empty list of strings")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise LaunchRefused("'port' must be an integer port number")
        variables: dict[str, Any] = {"runtime_path": self._ctx.runtime_path, "ports": [port]}
        await prestart.run_actions(service.get("pre_start_actions") or [], variables)
        check = service.get("health_check")
        return Launch(command, {}, model_path, port, (model_source(model["name"]),)), check or None

    async def _health_loop(self, name: str, port: int, path: str, expected: int,
                           params: dict[str, Any]) -> None:
        source = model_source(name)
        await asyncio.sleep(params["initial_delay"])
        while True:
            began = time.monotonic()
            result = await probe(port, path, expected, params["timeout"])
            if result.ok:
                self._ctx.emit(stamped(source, OBSERVATION, v.PROBE_SUCCEEDED, {
                    "status": result.status, "latency_ms": round(result.latency_ms, 3)}))
            else:
                self._ctx.emit(stamped(source, OBSERVATION, v.PROBE_FAILED, {
                    "reason": result.reason, "status": result.status,
                    "latency_ms": round(result.latency_ms, 3)}))
            await asyncio.sleep(max(params["period"] - (time.monotonic() - began), 0.0))

    def on_transition(self, t: Transitioned) -> None:
        """Tell the agent when a model becomes healthy or unhealthy (always both keys)."""
        if t.to_state in ("healthy", "unhealthy"):
            name = t.source.split(":", 1)[1]
            payload = {"model_name": name, "is_healthy": t.to_state == "healthy"}
            self._ctx.send(t.source, "model-service-status", json.dumps(payload).encode())

    async def stop(self, service_name: str) -> None:
        """`shutdown-service` of a model's service: end its health loop, then its process."""
        name = self.service_names.get(service_name)
        if name is not None:
            self._stop_loop(name)
        await self._supervisor.shutdown(service_name)

    def stop_all(self) -> None:
        for name in list(self._models):
            self._stop_loop(name)

    def _stop_loop(self, name: str) -> None:
        loop = self._loops.pop(name, None)
        if loop is not None:
            loop.cancel()
        if name in self._models:
            self._models.discard(name)
            self._ctx.emit(stamped(model_source(name), OBSERVATION, v.MODEL_STOPPED, {}))


def health_params(check: dict[str, Any] | None) -> dict[str, Any]:
    """The machine's parameters from a `health_check` (23.09 semantics, `interval` if given)."""
    check = check or {}
    wait = check.get("max_wait_time")
    wait = 5.0 if wait is None else float(wait)
    retries = check.get("max_retries")
    period = check.get("interval")
    return {"initial_delay": float(check.get("initial_delay") or 0.0),
            "period": max(float(period if period is not None else wait), MIN_PERIOD),
            "timeout": max(wait, MIN_PERIOD),
            "success_threshold": 1,
            "failure_threshold": int(retries) if retries is not None else 10}
