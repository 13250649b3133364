"""Service processes: spawned in their own process group, watched, restarted, stopped.

The supervisor only emits observations (spawned, port opened, start failed, exited); the
service machine decides the states, and `on_transition` is the one place that acts on them
(a crash while running leads to `backoff`, which leads here to a restart after the delay).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from machines import vocabulary as v
from machines.base import Transitioned
from runner import prestart
from runner.context import Context
from runner.servicedefs import LaunchRefused, ServiceDef, app_entry, launch_spec
from transcripts.events import OBSERVATION, service_source, stamped

LAUNCH_TIMEOUT = 7.0  # the agent gives up after 10 s; stopping a failed start must fit too
STOP_GRACE = 2.0
INTRINSIC = {"sshd": "/opt/kernel/dropbear", "ttyd": "/opt/backend.ai/bin/ttyd"}


@dataclass(slots=True)
class Launch:
    """How to (re)start one service."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int | None
    sources: tuple[str, ...]  # streams told about its process (service, and model if any)


class Supervisor:
    """Starts, watches and stops every service process of the runner."""

    def __init__(self, ctx: Context, defs: dict[str, ServiceDef], errors: dict[str, str],
                 intrinsic_ports: dict[str, int], launch_timeout: float = LAUNCH_TIMEOUT) -> None:
        self._ctx = ctx
        self.defs = defs
        self.errors = errors
        self._intrinsic_ports = intrinsic_ports
        self._launch_timeout = launch_timeout
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._launches: dict[str, Launch] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # --- start ------------------------------------------------------------------------
    async def start(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one `start-service` (the `service-result` payload)."""
        name = request["name"]
        source = service_source(name)
        protocol = request.get("protocol", "tcp")
        if protocol == "pty":
            return self._fail(source, "not implemented yet")
        if protocol == "preopen":
            self._observe(source, v.SERVICE_PORT_OPENED, {"port": request.get("port")})
            return {"status": "started"}
        async with self._locks.setdefault(name, asyncio.Lock()):
            if self.running(name):
                return {"status": "running"}
            try:
                launch = await self._resolve(name, request)
            except (LaunchRefused, OSError) as e:
                return self._fail(source, str(e))
            if launch is None:  # noop: nothing to spawn
                self._observe(source, v.SERVICE_PORT_OPENED, {"port": request.get("port")})
                return {"status": "started"}
            return await self.launch(name, launch, wait_port=True)

    async def _resolve(self, name: str, request: dict[str, Any]) -> Launch | None:
        port = request.get("port")
        ports = request.get("ports") or ([port] if port is not None else [])
        cwd = self._ctx.paths.work_dir
        if name in self.errors:
            raise LaunchRefused(f"invalid service definition: {self.errors[name]}")
        if name in INTRINSIC and name not in self.defs:
            return Launch(self._intrinsic_argv(name, ports), {}, cwd, port,
                          (service_source(name),))
        defn = self.defs.get(name)
        if defn is None:
            raise LaunchRefused(f"unsupported service: {name}")
        if defn.noop:
            return None
        variables: dict[str, Any] = {"runtime_path": self._ctx.runtime_path, "ports": ports}
        await prestart.run_actions(defn.prestart, variables)
        argv, env = launch_spec(defn, variables, request.get("options") or {},
                                set(self._ctx.child_env))
        return Launch(argv, env, cwd, port, (service_source(name),))

    def _intrinsic_argv(self, name: str, ports: list[int]) -> list[str]:
        binary = INTRINSIC[name]
        if not os.access(binary, os.X_OK):
            raise LaunchRefused(f"the executable file is not found: {binary}")
        if name == "ttyd":
            shell = next(s for s in ("zsh", "bash", "ash", "sh") if Path(f"/bin/{s}").exists())
            return [binary, "-p", str(ports[0]), f"/bin/{shell}"]
        listen = [a for p in ports for a in ("-p", f"0.0.0.0:{p}")]
        return [binary, "-r", "/tmp/dropbear/dropbear_rsa_host_key", "-E", "-F", "-g", "-w",
                "-K", "15", "-I", "0", *listen]

    async def start_intrinsic(self) -> None:
        """sshd and ttyd, where the container provides them (failures are only recorded)."""
        defaults = {"sshd": 2200, "ttyd": 7681}
        for name, binary in INTRINSIC.items():
            if os.access(binary, os.X_OK):
                port = self._intrinsic_ports.get(name, defaults[name])
                await self.start({"name": name, "port": port, "ports": [port],
                                  "protocol": "tcp" if name == "sshd" else "http"})

    async def launch(self, name: str, launch: Launch, *, wait_port: bool) -> dict[str, Any]:
        """Spawn a resolved service; with `wait_port`, answer only once its port opens."""
        source = launch.sources[0]
        if not launch.cwd.is_dir():
            return self._fail(source, f"the working directory does not exist: {launch.cwd}")
        env = {**self._ctx.child_env, **launch.env}
        env["LD_LIBRARY_PATH"] = env.get("LD_LIBRARY_PATH", "").replace("/opt/backend.ai/lib:", "")
        try:
            proc = await asyncio.create_subprocess_exec(
                *launch.argv, cwd=launch.cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=sys.stderr.fileno(), stderr=sys.stderr.fileno(), start_new_session=True)
        except FileNotFoundError:
            return self._fail(source, f"the executable file is not found: {launch.argv[0]}")
        except PermissionError:
            return self._fail(source, f"the target file is not executable: {launch.argv[0]}")
        self._procs[name] = proc
        self._launches[name] = launch
        for src in launch.sources:
            self._observe(src, v.SERVICE_SPAWNED, {"pid": proc.pid, "argv": launch.argv})
        self._ctx.spawn(self._watch(name, proc, launch), owner=f"watch:{name}")
        if not wait_port or launch.port is None:
            return {"status": "started"}
        return await self._await_port(name, proc, launch)

    async def _await_port(self, name: str, proc: asyncio.subprocess.Process, launch: Launch
                          ) -> dict[str, Any]:
        source = launch.sources[0]
        port = int(launch.port or 0)
        deadline = asyncio.get_running_loop().time() + self._launch_timeout
        while asyncio.get_running_loop().time() < deadline:
            if proc.returncode is not None:
                return self._fail(source, f"the process exited with code {proc.returncode} "
                                          f"before opening port {port}")
            if await port_open(port):
                self._observe(source, v.SERVICE_PORT_OPENED, {"port": port})
                return {"status": "started"}
            await asyncio.sleep(0.1)
        await self._terminate(proc)
        return self._fail(source, f"opening the service port timed out: {name}")

    # --- watch, restart, stop ---------------------------------------------------------
    async def _watch(self, name: str, proc: asyncio.subprocess.Process, launch: Launch) -> None:
        code = await proc.wait()
        if self._procs.get(name) is proc:
            del self._procs[name]
        for src in launch.sources:
            self._observe(src, v.PROCESS_EXITED, {"pid": proc.pid, "exit_code": code})

    def on_transition(self, t: Transitioned) -> None:
        """The effect handler of service machines."""
        if t.source.startswith("service:") and t.to_state == "backoff":
            name = t.source.split(":", 1)[1]
            delay = float((t.data or {}).get("backoff_delay", 1.0))
            self._ctx.spawn(self._restart(name, delay), owner=f"restart:{name}")

    async def _restart(self, name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        launch = self._launches.get(name)
        if launch is None or self._ctx.machines.state(service_source(name)) != "backoff":
            return
        self._observe(launch.sources[0], v.SERVICE_RESTARTING, {"delay": delay})
        async with self._locks.setdefault(name, asyncio.Lock()):
            await self.launch(name, launch, wait_port=True)

    async def shutdown(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is not None:
            await self._terminate(proc)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self._terminate(p) for p in list(self._procs.values())))

    def running(self, name: str) -> bool:
        proc = self._procs.get(name)
        return proc is not None and proc.returncode is None

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        """SIGTERM the whole group, SIGKILL it after the grace period."""
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), STOP_GRACE)
        _signal_group(proc.pid, signal.SIGKILL)

    # --- small things -----------------------------------------------------------------
    def apps(self, name: str) -> dict[str, Any]:
        defs = [d for n, d in self.defs.items() if not name or n == name]
        return {"status": "done", "data": [app_entry(d) for d in defs]}

    def _observe(self, source: str, name: str, data: dict[str, Any]) -> None:
        self._ctx.emit(stamped(source, OBSERVATION, name, data))

    def _fail(self, source: str, reason: str) -> dict[str, Any]:
        self._observe(source, v.SERVICE_START_FAILED, {"reason": reason})
        return {"status": "failed", "error": reason}


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


async def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on the port, over IPv4 or IPv6 loopback."""
    for host in ("127.0.0.1", "::1"):
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 0.5)
        except (OSError, TimeoutError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False
