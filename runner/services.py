"""The service side of the runner as the front end sees it: services and model services."""

from __future__ import annotations

import logging
from typing import Any

from machines.base import Transitioned
from runner.config import intrinsic_ports
from runner.context import Context
from runner.launchers import INTRINSIC_PORTS, Launchers
from runner.model_service import ModelServices
from runner.service_requests import ReservedPorts
from runner.servicedefs import load_dir
from runner.supervisor import Supervisor
from transcripts.events import KERNEL, OBSERVATION, stamped

log = logging.getLogger("krunner")


class Services:
    """Routes service ops to the supervisor or to the model services."""

    def __init__(self, ctx: Context) -> None:
        defs, errors = load_dir(ctx.paths.service_defs)
        for name, reason in errors.items():
            log.warning("service definition %s is invalid: %s", name, reason)
            ctx.emit(stamped(KERNEL, OBSERVATION, "ServiceDefinitionInvalid",
                             {"service": name, "reason": reason}))
        # the language decides the legacy built-ins; the runner's config carries it
        lang = getattr(getattr(ctx, "config", None), "lang", "python")
        self._ctx = ctx
        self.launchers = Launchers(ctx, defs, errors, lang)
        self._intrinsic_ports = intrinsic_ports(ctx.paths.config_dir)
        self.supervisor = Supervisor(ctx, self.launchers.resolver, defs)
        self.models = ModelServices(ctx, self.supervisor)

    def reserved_ports(self, own: set[int]) -> ReservedPorts:
        """The ports no request may claim: the runner's own sockets (and the git terminal's),
        and each intrinsic service's, which only that service may use."""
        config = getattr(self._ctx, "config", None)
        if getattr(config, "lang", "") == "git":
            own = own | {p for p in (config.terminal_in_port, config.terminal_out_port) if p}
        intrinsic = {name: self._intrinsic_ports.get(name, port)
                     for name, port in INTRINSIC_PORTS.items()}
        return ReservedPorts(frozenset(own), intrinsic)

    async def start(self, request: dict[str, Any]) -> dict[str, Any]:
        return await self.supervisor.start(request)

    async def start_model(self, model: dict[str, Any]) -> dict[str, Any]:
        return await self.models.start(model)

    async def shutdown(self, name: str) -> None:
        await self.models.stop(name)

    def apps(self, name: str) -> dict[str, Any]:
        result = self.supervisor.apps(name)
        result["data"] += [{"name": s} for s in self.models.service_names
                           if not name or s == name]
        return result

    async def start_intrinsic(self) -> None:
        """sshd and ttyd, where the agent provided their binaries (failures are recorded)."""
        for name in self.launchers.intrinsic_available():
            port = self._intrinsic_ports.get(name, INTRINSIC_PORTS[name])
            await self.start({"name": name, "port": port, "ports": [port],
                              "protocol": "tcp" if name == "sshd" else "http"})

    async def stop_all(self) -> None:
        self.models.stop_all()
        await self.supervisor.stop_all()

    def on_transition(self, t: Transitioned) -> None:
        if t.source.startswith("model:"):
            self.models.on_transition(t)
        else:
            self.supervisor.on_transition(t)
