"""Model services (PROTOCOL §7): the server under supervision, its health probed, the agent told.

The server is a supervised service named `<model>-<port>` whose process events also reach
the model's health machine (`model:<name>`): its exit is unhealthy at once. Probes run in one
task and one HTTP client per model, so a hung server delays no other model; each probe is an
observation, and the health machine (every default and the definition mapping live in
`machines/model_health.py`) decides. `model-service-status` is sent by the entry effects
(`runner/effects/model_health.py`), also when the model is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from pathlib import Path
from typing import Any

from machines import vocabulary as v
from machines.base import Transitioned
from machines.model_health import LIVE, params_from_definition
from runner import prestart
from runner.context import Context
from runner.effects import enter
from runner.effects import model_health as model_effects
from runner.launchers import refusing
from runner.probe import Prober
from runner.servicedefs import LaunchRefused
from runner.supervisor import Launch, Supervisor
from transcripts.events import OBSERVATION, model_source, service_source, stamped


class ModelServices:
    """Starts model servers through the supervisor and owns one health loop per model."""

    def __init__(self, ctx: Context, supervisor: Supervisor) -> None:
        self._ctx = ctx
        self._supervisor = supervisor
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._service_of: dict[str, str] = {}  # model name -> "<model>-<port>"
        self.service_names: dict[str, str] = {}  # "<model>-<port>" -> model name

    async def start(self, model: dict[str, Any]) -> dict[str, Any]:
        """Answer one `start-model-service` (the `model-service-result` payload)."""
        name = model["name"]
        source = model_source(name)
        try:
            service, port, check = _checked(model)
            params = _health_params(check)
        except LaunchRefused as e:
            self._observe(source, v.SERVICE_START_FAILED, {"reason": str(e)})
            return {"status": "failed", "error": str(e)}
        current = self._service_of.get(name)
        if current is not None and self._supervisor.live(current):
            return {"status": "running"}  # one process and one health loop per model
        self._observe(source, v.MODEL_CONFIGURED, params)
        service_name = f"{name}-{port}"
        self._service_of[name], self.service_names[service_name] = service_name, name

        async def resolve() -> Launch | None:
            return await refusing(self._launch(model, service, port, service_name))

        reply = await self._supervisor.request_start(service_name, resolve, port=port,
                                                     protocol="http")
        if reply["status"] == "failed":
            self._end_health(name, reply.get("error", "start failed"), start_failed=True)
            return reply
        if check is None:  # after the reply: the agent expects the result before the status
            asyncio.get_running_loop().call_soon(self._observe, source, v.HEALTH_CHECK_ABSENT, {})
        elif name not in self._loops:
            self._loops[name] = self._ctx.spawn(self._health_loop(name, port, params),
                                                owner=f"health:{name}")
        return reply

    async def _launch(self, model: dict[str, Any], service: dict[str, Any], port: int,
                      service_name: str) -> Launch:
        model_path = Path(str(model["model_path"]))
        if not model_path.is_dir():
            raise LaunchRefused(f"the model directory does not exist: {model_path}")
        command = service["start_command"]
        if isinstance(command, str):
            command = [service.get("shell", "/bin/bash"), "-c", command]
        variables: dict[str, Any] = {"runtime_path": self._ctx.runtime_path, "ports": [port]}
        await prestart.run_actions(service.get("pre_start_actions") or [], variables)
        return Launch(list(command), {}, model_path, port,
                      (service_source(service_name), model_source(model["name"])),
                      wait_port=False)

    async def _health_loop(self, name: str, port: int, params: dict[str, Any]) -> None:
        source = model_source(name)
        url = f"http://127.0.0.1:{port}{params['path']}"
        prober = Prober(float(params["timeout"]))
        try:
            await asyncio.sleep(float(params["initial_delay"]))
            next_at = time.monotonic()
            while True:
                result = await prober.probe(url, int(params["expected_status"]))
                data = {"status": result.status, "latency_ms": round(result.latency_ms, 3)}
                if result.redirects:
                    data["redirects"] = result.redirects
                if result.ok:
                    self._observe(source, v.PROBE_SUCCEEDED, data)
                else:
                    self._observe(source, v.PROBE_FAILED, {"reason": result.reason, **data})
                # a fixed cadence: a probe that took its whole timeout does not shift the rest
                now = time.monotonic()
                next_at += float(params["period"])
                if next_at < now - float(params["period"]):
                    next_at = now  # far behind (a stalled machine): start over from now
                await asyncio.sleep(max(next_at - now, 0.0))
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(prober.aclose())

    # --- entry effects (runner/effects/model_health.py) ---------------------------------------
    def on_transition(self, t: Transitioned) -> None:
        enter(model_effects.EFFECTS, self, t)

    def send_status(self, t: Transitioned) -> None:
        """Tell the agent when a model becomes healthy or unhealthy (always both keys)."""
        payload = {"model_name": t.source.split(":", 1)[1], "is_healthy": t.to_state == "healthy"}
        self._ctx.send(t.source, "model-service-status", json.dumps(payload).encode())

    def send_stopped(self, t: Transitioned) -> None:
        """A stopped model serves nothing: unhealthy, unless the agent knows it already."""
        if t.from_state != "unhealthy" and not (t.data or {}).get("start_failed"):
            self.send_status(t)

    # --- stop ---------------------------------------------------------------------------
    async def stop(self, service_name: str) -> None:
        """`shutdown-service`: end the model's health loop; the machine ends its process."""
        name = self.service_names.get(service_name)
        if name is not None:
            self._end_health(name, "the model service was shut down")
        await self._supervisor.shutdown(service_name)

    def stop_all(self) -> None:
        for name in list(self._service_of):
            self._end_health(name, "the runner is shutting down")

    def _end_health(self, name: str, reason: str, *, start_failed: bool = False) -> None:
        loop = self._loops.pop(name, None)
        if loop is not None:
            loop.cancel()
        if self._ctx.machines.state(model_source(name)) in LIVE:
            self._observe(model_source(name), v.MODEL_STOPPED,
                          {"reason": reason, "start_failed": start_failed})

    def _observe(self, source: str, name: str, data: dict[str, Any]) -> None:
        self._ctx.emit(stamped(source, OBSERVATION, name, data))


def _checked(model: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, Any] | None]:
    """The model entry's `service`, port and `health_check`, or why it cannot start."""
    service = model.get("service")
    if not isinstance(service, dict):
        raise LaunchRefused("model service definition has no 'service'")
    if not model.get("model_path") or "\x00" in str(model["model_path"]) \
            or not Path(str(model["model_path"])).is_dir():
        raise LaunchRefused(f"the model directory does not exist: {model.get('model_path')}")
    command, port = service.get("start_command"), service.get("port")
    if isinstance(command, str):
        command = [command]
    if not (isinstance(command, list) and command
            and all(isinstance(c, str) for c in command)):
        raise LaunchRefused("'start_command' must be a non-empty list of strings")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise LaunchRefused("'port' must be an integer port number")
    check = service.get("health_check")
    if check is not None and not isinstance(check, dict):
        raise LaunchRefused("'health_check' must be an object")
    return service, port, check or None


def _health_params(check: dict[str, Any] | None) -> dict[str, Any]:
    """The health machine's parameters: finite, and a path on the model's own host (the
    front end checks the request; this keeps the loop safe from any other caller)."""
    try:
        params = params_from_definition(check)
    except (TypeError, ValueError, OverflowError) as e:
        raise LaunchRefused(f"'health_check' cannot be used: {e}") from None
    numbers = [v for k, v in params.items() if k != "path"]
    if not all(isinstance(n, (int, float)) and math.isfinite(n) for n in numbers):
        raise LaunchRefused("'health_check' times and counts must be finite numbers")
    if not params["path"].startswith("/") or params["path"].startswith("//"):
        raise LaunchRefused("'health_check.path' must start with a single '/'")
    return params
