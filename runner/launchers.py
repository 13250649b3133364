"""How a named service is launched: intrinsic sshd and ttyd, service definitions (with their
prestart actions), then the language's legacy built-ins (PROTOCOL §6.3 step 4).

A resolver runs before every start attempt (restarts included), so prestart actions and key
preparation happen each time, as in the original. Whatever goes wrong while resolving is a
`LaunchRefused` with its reason (`refusing`), so a start always ends in an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from runner import legacy_services, prestart, sshd, ttyd
from runner.context import Context
from runner.servicedefs import LaunchRefused, ServiceDef, launch_spec
from runner.supervisor import Launch, Resolver
from transcripts.events import service_source

INTRINSIC_PORTS = {"sshd": 2200, "ttyd": 7681}
log = logging.getLogger("krunner")


async def refusing(work: Awaitable[Launch | None]) -> Launch | None:
    """The launch, checked; any failure in preparing it (but a cancellation or an OSError,
    which the supervisor reports itself) becomes the start's `LaunchRefused`."""
    try:
        launch = await work
    except (LaunchRefused, OSError):
        raise
    except Exception as e:
        log.exception("preparing a service start failed")
        raise LaunchRefused(f"preparing the start failed: {type(e).__name__}: {e}") from e
    if launch is not None:
        _check_launch(launch)
    return launch


def _check_launch(launch: Launch) -> None:
    """What `exec` would refuse with an error of its own is refused here, with a reason."""
    if not launch.argv or not all(isinstance(a, str) and "\x00" not in a for a in launch.argv):
        raise LaunchRefused("the command must be a non-empty list of strings without NUL")
    for key, value in launch.env.items():
        if not key or "=" in key or "\x00" in key or "\x00" in value:
            raise LaunchRefused(f"environment variable {key!r} cannot be passed to a process")
    if launch.port is not None and not (isinstance(launch.port, int)
                                        and 0 < launch.port < 65536):
        raise LaunchRefused(f"the port {launch.port!r} is not a port number")


class Launchers:
    """Turns a `start-service` request into a resolver of its `Launch`."""

    def __init__(self, ctx: Context, defs: dict[str, ServiceDef], errors: dict[str, str],
                 lang: str) -> None:
        self._ctx = ctx
        self.defs = defs
        self.errors = errors
        self.lang = lang

    def resolver(self, name: str, request: dict[str, Any]) -> Resolver:
        async def resolve() -> Launch | None:
            return await refusing(self.resolve(name, request))
        return resolve

    async def resolve(self, name: str, request: dict[str, Any]) -> Launch | None:
        if request.get("protocol") == "pty":
            raise LaunchRefused("not implemented yet")
        port = request.get("port")
        ports = list(request.get("ports") or ([port] if port is not None else []))
        work = self._ctx.paths.work_dir
        if name in self.errors:
            raise LaunchRefused(f"invalid service definition: {self.errors[name]}")
        if name in INTRINSIC_PORTS and name not in self.defs:
            ports = ports or [INTRINSIC_PORTS[name]]
            argv = await self._intrinsic(name, ports)
            return Launch(argv, {}, work, ports[0], (service_source(name),))
        defn = self.defs.get(name)
        if defn is None:
            return self._legacy(name, ports, port)
        if defn.noop:
            return None
        variables: dict[str, Any] = {"runtime_path": self._ctx.runtime_path, "ports": ports}
        await prestart.run_actions(defn.prestart, variables)
        argv, env = launch_spec(defn, variables, request.get("options") or {},
                                set(self._ctx.child_env))
        return Launch(argv, env, work, port, (service_source(name),))

    async def _intrinsic(self, name: str, ports: list[int]) -> list[str]:
        if name == "ttyd":
            return ttyd.command(ttyd.find_ttyd(), ports[0])
        dropbear = sshd.find_dropbear()
        if dropbear is None:
            raise LaunchRefused("dropbear is not available (looked in /opt/kernel and the "
                                "system's dropbear-bin)")
        host_key = await sshd.prepare(dropbear, self._ctx.paths.work_dir,
                                      self._ctx.paths.config_dir,
                                      self._ctx.paths.state_dir / "dropbear",
                                      self._ctx.child_env)
        return sshd.command(dropbear, host_key, ports)

    def _legacy(self, name: str, ports: list[int], port: int | None) -> Launch:
        found = legacy_services.legacy_command(
            self.lang, self._ctx.runtime_path, name, ports,
            self._ctx.paths.state_dir / "services", self._ctx.paths.work_dir)
        if found is None:
            raise LaunchRefused(f"unsupported service: {name}")
        argv, cwd = found
        return Launch(argv, {}, Path(cwd), port, (service_source(name),))

    def intrinsic_available(self) -> list[str]:
        """Intrinsic services the agent provided binaries for (started with the runner)."""
        names = []
        kernel = sshd.KERNEL_DIR
        if (kernel / "dropbear").exists() or (kernel / "dropbearmulti").exists():
            names.append("sshd")
        if ttyd.find_ttyd(search_path=False) is not None:
            names.append("ttyd")
        return names
