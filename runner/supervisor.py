"""Service processes: one process group per service, supervised, its life decided by the machine.

The supervisor only emits observations (start requested, spawned, port opened, start failed,
exited, restarting) and acts on the service machine's transitions through the entry effects
of `runner/effects/service.py`. It spawns only on entering `starting`, which the machine
allows only when no process of the service is left, and every spawn first waits for the
previous group of that service to be gone: a race of start, stop, restart, crash or shutdown
can never leave two copies or an orphan.

A service is its process's whole family (runner/process_group.py): a leader that exits 0 and
leaves processes behind has daemonized (a double fork), and the service lives, and may open
its port, as long as they do; stopping it ends them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machines import vocabulary as v
from machines.base import Transitioned
from machines.service import IDLE, LIVE, SUPERVISION
from runner import subreaper
from runner.context import Context
from runner.effects import enter
from runner.effects import service as service_effects
from runner.process_group import STOP_GRACE, Family, end_group
from runner.servicedefs import LaunchRefused, ServiceDef, app_entry
from transcripts.events import OBSERVATION, service_source, stamped

LAUNCH_TIMEOUT = 8.0  # request to open port; the agent gives up after 10 s
RESOLVE_TIMEOUT = 6.0  # preparing one start (prestart actions, keys), inside LAUNCH_TIMEOUT
PORT_POLL = 0.05
PORT_POLL_FIRST = 0.005
SHUTDOWN_GRACE = 1.0  # runner shutdown: SIGTERM to SIGKILL of a service
SHUTDOWN_WAIT = 2.5  # runner shutdown: how long every service may take to stop
PROCESS_DAEMONIZED = "ProcessDaemonized"  # recorded only: the leader left a daemon serving
ENV_PARAMS = {"start_window": "KRUNNER_SERVICE_START_WINDOW",
              "start_retries": "KRUNNER_SERVICE_START_RETRIES",
              "backoff_base": "KRUNNER_SERVICE_BACKOFF_BASE",
              "backoff_max": "KRUNNER_SERVICE_BACKOFF_MAX"}


@dataclass(slots=True)
class Launch:
    """How to start one service process."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int | None
    sources: tuple[str, ...]  # streams told about its process (service, and model if any)
    wait_port: bool = True


Resolver = Callable[[], Awaitable[Launch | None]]  # None: nothing to spawn (noop)


@dataclass(slots=True)
class Attempt:
    """One entry into `starting`: prestart, spawn, port wait."""

    epoch: int
    task: asyncio.Task[None] | None = None
    resolving: bool = False  # in prestart: a stop may cancel it
    stop_wanted: bool = False  # a stop arrived: spawn nothing more, end what was spawned


@dataclass(slots=True)
class Slot:
    """Everything the runner holds for one service name."""

    resolve: Resolver | None = None
    proc: asyncio.subprocess.Process | None = None  # the leader, until its family is gone
    family: Family | None = None
    attempt: Attempt | None = None
    epoch: int = 0  # bumps on every entry to `starting`; stale timers and attempts see it
    waiters: list[tuple[asyncio.Future[dict[str, Any]], bool]] = field(default_factory=list)

    def busy(self) -> bool:
        return self.proc is not None or (self.attempt is not None and self.attempt.task is not None
                                         and not self.attempt.task.done())


def supervision_params() -> dict[str, Any]:
    """The supervision defaults, with the operator's environment overrides."""
    params = dict(SUPERVISION)
    for key, var in ENV_PARAMS.items():
        if os.environ.get(var):
            params[key] = type(SUPERVISION[key])(float(os.environ[var]))
    return params


class Supervisor:
    """Starts, watches, restarts and stops every service process of the runner."""

    def __init__(self, ctx: Context, resolve_service: Callable[[str, dict[str, Any]], Resolver],
                 defs: dict[str, ServiceDef], launch_timeout: float = LAUNCH_TIMEOUT) -> None:
        self._ctx = ctx
        self._resolve_service = resolve_service
        self.defs = defs
        # the agent waits 10 s for the reply; an operator may allow slow services longer
        self._launch_timeout = float(os.environ.get("KRUNNER_SERVICE_LAUNCH_TIMEOUT")
                                     or launch_timeout)
        self._slots: dict[str, Slot] = {}
        self._params = supervision_params()
        self._closing = False
        self._grace = STOP_GRACE

    # --- requests -----------------------------------------------------------------------
    async def start(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one `start-service` (the `service-result` payload)."""
        name = request["name"]
        if request.get("protocol") == "preopen":
            return {"status": "started"}  # the agent's own port: nothing to spawn
        return await self.request_start(name, self._resolve_service(name, request),
                                        port=request.get("port"),
                                        protocol=request.get("protocol", "tcp"))

    async def request_start(self, name: str, resolve: Resolver, *, port: int | None,
                            protocol: str = "tcp") -> dict[str, Any]:
        """Ask the machine for a start; answer when it runs, fails or ends."""
        source = service_source(name)
        if self._closing:
            return {"status": "failed", "error": "the runner is shutting down"}
        slot = self._slots.setdefault(name, Slot())
        slot.resolve = resolve  # the latest request is what the next attempt starts
        before = self.state(name)
        self._observe(source, v.SERVICE_START_REQUESTED,
                      {"port": port, "protocol": protocol, **self._params})
        if before in ("running", "backoff"):
            return {"status": "running"}
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        slot.waiters.append((answer, before != "starting"))  # joining a start under way: running
        return await answer

    async def shutdown(self, name: str) -> None:
        """After `shutdown-service` (the machine already moved): wait until the group is gone."""
        slot = self._slots.get(name)
        deadline = time.monotonic() + 3 * 2.0 + 1
        while slot is not None and self.state(name) in LIVE and time.monotonic() < deadline:
            await asyncio.sleep(PORT_POLL)

    async def stop_all(self) -> None:
        """Runner shutdown: every service stops through its machine; nothing restarts."""
        self._closing = True
        self._grace = SHUTDOWN_GRACE
        for name in list(self._slots):
            if self.state(name) in LIVE:
                self._observe(service_source(name), v.SERVICE_STOP_REQUESTED,
                              {"reason": "runner shutdown"})
        deadline = time.monotonic() + SHUTDOWN_WAIT
        while time.monotonic() < deadline and any(s.busy() for s in self._slots.values()):
            await asyncio.sleep(PORT_POLL)
        for slot in self._slots.values():  # the last word: nothing of ours outlives us
            if slot.family is not None:
                slot.family.signal(signal.SIGKILL)

    def state(self, name: str) -> str | None:
        return self._ctx.machines.state(service_source(name))

    def running(self, name: str) -> bool:
        """Whether the service machine says it runs (the answer `status` would give)."""
        return self.state(name) == "running"

    def live(self, name: str) -> bool:
        return self.state(name) in LIVE

    def apps(self, name: str) -> dict[str, Any]:
        defs = [d for n, d in self.defs.items() if not name or n == name]
        return {"status": "done", "data": [app_entry(d) for d in defs]}

    # --- entry effects (runner/effects/service.py) ---------------------------------------
    def on_transition(self, t: Transitioned) -> None:
        enter(service_effects.EFFECTS, self, t)

    def begin_attempt(self, t: Transitioned) -> None:
        name = t.source.split(":", 1)[1]
        slot = self._slots.setdefault(name, Slot())
        if slot.attempt is not None:
            slot.attempt.stop_wanted = True  # an older attempt still winding down does nothing more
        slot.epoch += 1
        attempt = slot.attempt = Attempt(slot.epoch)
        attempt.task = self._ctx.spawn(self._attempt_guarded(name, slot, attempt),
                                       owner=f"launch:{name}")

    def answer_started(self, t: Transitioned) -> None:
        slot = self._slots.get(t.source.split(":", 1)[1])
        if slot is not None:
            for answer, fresh in slot.waiters:
                if not answer.done():
                    answer.set_result({"status": "started" if fresh else "running"})
            slot.waiters.clear()

    def answer_ended(self, t: Transitioned) -> None:
        slot = self._slots.get(t.source.split(":", 1)[1])
        if slot is None:
            return
        reason = (t.data or {}).get("reason") or f"the service is {t.to_state}"
        for answer, _ in slot.waiters:
            if not answer.done():
                answer.set_result({"status": "failed", "error": reason})
        slot.waiters.clear()

    def schedule_restart(self, t: Transitioned) -> None:
        name = t.source.split(":", 1)[1]
        slot = self._slots.setdefault(name, Slot())
        delay = float((t.data or {}).get("backoff_delay", SUPERVISION["backoff_base"]))
        self._ctx.spawn(self._restart_later(name, slot, slot.epoch, delay),
                        owner=f"restart:{name}")

    def end_process(self, t: Transitioned) -> None:
        name = t.source.split(":", 1)[1]
        slot = self._slots.setdefault(name, Slot())
        attempt = slot.attempt
        if attempt is not None:
            attempt.stop_wanted = True
        if slot.proc is not None:  # the leader, or the daemon it left, lives
            self._ctx.spawn(end_group(slot.proc, self._grace, slot.family), owner=f"stop:{name}")
        elif attempt is not None and attempt.resolving and attempt.task is not None:
            attempt.task.cancel()  # still in prestart: it reports itself abandoned
        elif attempt is None or attempt.task is None or attempt.task.done():
            self._observe(t.source, v.SERVICE_LAUNCH_ABANDONED, {"reason": "nothing to stop"})
        # else: the attempt is spawning; it sees `stop_wanted` and ends what it spawned

    # --- one attempt ------------------------------------------------------------------
    async def _attempt_guarded(self, name: str, slot: Slot, attempt: Attempt) -> None:
        """Any failure of an attempt is the start's failure: the machine leaves `starting`
        and the agent is answered (an exec format error, a bad argument, a bug)."""
        try:
            await self._attempt(name, slot, attempt)
        except Exception as e:
            print(f"krunner: starting service {name} failed: {type(e).__name__}: {e}",
                  file=sys.stderr, flush=True)
            self._failed(attempt, service_source(name),
                         f"starting the service failed: {type(e).__name__}: {e}")
            proc = slot.proc
            if proc is not None and proc.returncode is None:
                await end_group(proc)  # its watcher records the exit

    async def _attempt(self, name: str, slot: Slot, attempt: Attempt) -> None:
        source = service_source(name)
        began = time.monotonic()
        attempt.resolving = True
        try:
            launch = await asyncio.wait_for(slot.resolve(), RESOLVE_TIMEOUT)  # type: ignore[misc]
        except asyncio.CancelledError:
            self._observe(source, v.SERVICE_LAUNCH_ABANDONED,
                          {"reason": "stopped before its process started"})
            return
        except TimeoutError:
            return self._failed(attempt, source, f"preparing the start took longer than "
                                                 f"{RESOLVE_TIMEOUT:g} s")
        except (LaunchRefused, OSError) as e:
            return self._failed(attempt, source, str(e))
        finally:
            attempt.resolving = False
        await self._previous_gone(slot)
        if attempt.stop_wanted:
            if slot.epoch == attempt.epoch:
                self._observe(source, v.SERVICE_LAUNCH_ABANDONED, {"reason": "stopped"})
            return
        if launch is None:  # noop: nothing to spawn, nothing to wait for
            self._observe(source, v.SERVICE_SPAWNED, {"pid": None, "wait_port": False})
            return
        proc = await self._spawn(slot, attempt, source, launch)
        if proc is None:
            return
        if attempt.stop_wanted:
            await end_group(proc, self._grace, slot.family)
            return
        if launch.wait_port and launch.port is not None:
            await self._await_port(attempt, slot, source, proc, launch,
                                   began + self._launch_timeout)

    async def _spawn(self, slot: Slot, attempt: Attempt, source: str, launch: Launch
                     ) -> asyncio.subprocess.Process | None:
        if not launch.cwd.is_dir():
            self._failed(attempt, source, f"the working directory does not exist: {launch.cwd}")
            return None
        family = Family(source)
        env = family.env({**self._ctx.child_env, **launch.env})
        env["LD_LIBRARY_PATH"] = env.get("LD_LIBRARY_PATH", "").replace("/opt/backend.ai/lib:", "")
        try:
            proc = await asyncio.create_subprocess_exec(
                *launch.argv, cwd=launch.cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=sys.stderr.fileno(), stderr=sys.stderr.fileno(), start_new_session=True)
        except FileNotFoundError:
            self._failed(attempt, source, f"the executable file is not found: {launch.argv[0]}")
            return None
        except PermissionError:
            self._failed(attempt, source, f"the target file is not executable: {launch.argv[0]}")
            return None
        family.leader = proc.pid
        slot.proc, slot.family = proc, family
        wait_port = launch.wait_port and launch.port is not None
        for src in launch.sources:
            self._observe(src, v.SERVICE_SPAWNED, {"pid": proc.pid, "argv": launch.argv,
                                                   "wait_port": wait_port})
        self._ctx.spawn(self._watch(slot, proc, family, launch, time.monotonic()),
                        owner=f"watch:{source}")
        return proc

    async def _await_port(self, attempt: Attempt, slot: Slot, source: str,
                          proc: asyncio.subprocess.Process, launch: Launch, deadline: float
                          ) -> None:
        port = int(launch.port or 0)
        pause = PORT_POLL_FIRST  # most services open their port within tens of milliseconds
        while time.monotonic() < deadline:
            if attempt.stop_wanted or slot.proc is not proc:
                return  # the exit of the whole family (or the stop) decides
            if await port_open(port) and slot.proc is proc and not attempt.stop_wanted:
                self._observe(source, v.SERVICE_PORT_OPENED, {"port": port})
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, PORT_POLL)
        if slot.proc is proc and not attempt.stop_wanted:
            self._failed(attempt, source, f"opening the service port timed out: "
                                          f"{source.split(':', 1)[1]}")
            await end_group(proc, self._grace, slot.family)

    async def _watch(self, slot: Slot, proc: asyncio.subprocess.Process, family: Family,
                     launch: Launch, spawned_at: float) -> None:
        code: int | None = await proc.wait()
        left = await family.lingering() if code == 0 else []
        data: dict[str, Any] = {"pid": proc.pid}
        if left:  # daemonized: the service lives while what the leader left does
            for src in launch.sources:
                self._observe(src, PROCESS_DAEMONIZED, {"pid": proc.pid, "pids": left})
            await family.wait_gone()
            codes = (subreaper.collect(pid) for pid in reversed(family.seen))
            code = next((c for c in codes if c is not None), None)
            data["daemon"] = True
        await family.kill()  # what the leader left behind dies with it
        if slot.proc is proc:
            slot.proc, slot.family = None, None
        data.update(exit_code=code, uptime=round(time.monotonic() - spawned_at, 3))
        for src in launch.sources:
            self._observe(src, v.PROCESS_EXITED, dict(data))

    async def _previous_gone(self, slot: Slot) -> None:
        """The one-copy rule at the only place that spawns: the old group ends first."""
        old = slot.proc
        if old is not None:
            await end_group(old, self._grace, slot.family)
            while slot.proc is old:  # its watcher records the exit before we go on
                await asyncio.sleep(0.01)

    async def _restart_later(self, name: str, slot: Slot, epoch: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._closing or slot.epoch != epoch or self.state(name) != "backoff":
            return
        self._observe(service_source(name), v.SERVICE_RESTARTING, {"delay": delay})

    # --- small things -------------------------------------------------------------------
    def _observe(self, source: str, name: str, data: dict[str, Any]) -> None:
        self._ctx.emit(stamped(source, OBSERVATION, name, data))

    def _failed(self, attempt: Attempt, source: str, reason: str) -> None:
        if attempt.stop_wanted:
            self._observe(source, v.SERVICE_LAUNCH_ABANDONED, {"reason": reason})
        else:
            self._observe(source, v.SERVICE_START_FAILED, {"reason": reason})


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


__all__ = ["IDLE", "LIVE", "Launch", "Supervisor", "port_open"]
