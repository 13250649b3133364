"""The runner: wires the log, the machines, the front end, the runs and the services together.

Everything that happens goes through `emit` (log it, let the machines consume it); every
machine move comes back through `_on_machine` (log it, hand it to that machine's effect
table). Wiring only: no lifecycle flag lives here; what state the kernel is in is the kernel
machine's, read through `machines`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from machines import vocabulary as v
from machines.base import Transitioned, TriggerRejected
from machines.events import TERMINAL
from machines.registry import Machines
from runner import config as cfg
from runner import durable_log, process_group, python_extras, subreaper
from runner.context import Paths, TaskSet
from runner.drivers import BATCH_ENV, Driver, driver_for
from runner.effects import enter
from runner.effects import kernel as kernel_effects
from runner.frontend import FrontEnd
from runner.logsink import install_logging
from runner.outbox import SEND_HWM, Outbox
from runner.runs import Runs
from runner.services import Services
from runner.shutdown import Deadline, Watchdog
from runner.sockets import bind as _bind
from runner.term_registry import register_term_drivers
from runner.user_input import UserInputServer, install_hook
from transcripts.events import KERNEL, OBSERVATION, REJECTED, TRANSITION, Event, stamped
from transcripts.retention import Retention
from transcripts.store import EventLog

VERSION = "0.1.0"
register_term_drivers()
log = logging.getLogger("krunner")


class Runner:
    """One runner process: `await Runner(config).serve()` until SIGTERM/SIGINT."""

    def __init__(self, config: cfg.Config) -> None:
        self.config = config
        self.own_state_dir = config.own_state_dir
        self.state_dir_problem: str | None = None
        self.paths: Paths = self._usable_state_dir(config.paths)
        self.started_at = time.monotonic()
        self.tasks = TaskSet()
        self.log_place = durable_log.choose(config)
        self.log = EventLog(self.log_place.path, on_degraded=self._log_degraded,
                            retention=Retention.from_environ())
        self.machines = Machines(self._on_machine)
        self.driver: Driver = driver_for(config.lang, config.runtime_path, self.paths.work_dir)
        self.driver.attach(self)
        self.runtime_path = self.driver.runtime
        self.child_env: dict[str, str] = {}
        self.query_settled = asyncio.Event()  # kernel ready or failed (its effects set it)
        self.stop_requested = asyncio.Event()  # kernel stopping (its effects set it)
        self.stop_asked_at: float | None = None
        self.watchdog = Watchdog()
        self.reaper = subreaper.OrphanReaper()

    def _usable_state_dir(self, paths: Paths) -> Paths:
        """The configured state folder, or a private one if it cannot be written: a bad
        `--state-dir` must not stop the runner from serving."""
        try:
            paths.state_dir.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=paths.state_dir).close()
            return paths
        except OSError as e:
            private = Path(tempfile.mkdtemp(prefix="krunner-"))
            self.state_dir_problem = f"{paths.state_dir} is unusable ({e}); using {private}"
            self.own_state_dir = True
            return dataclasses.replace(paths, state_dir=private)

    # --- the Context the parts use ----------------------------------------------------
    def emit(self, event: Event) -> None:
        self.log.append(event)
        self.machines.consume(event)

    def send(self, source: str, msg_type: str, payload: bytes, *, record: bool = True) -> None:
        self.outbox.send(source, msg_type, payload, record=record)

    async def throttle(self) -> None:
        await self.outbox.throttle()

    def spawn(self, coro: Any, owner: str) -> asyncio.Task[Any]:
        return self.tasks.spawn(self._guarded(coro, owner), owner)

    async def _guarded(self, coro: Any, owner: str) -> Any:
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("task %s failed", owner)
            return None

    def _on_machine(self, t: Transitioned | TriggerRejected) -> None:
        if isinstance(t, TriggerRejected):
            self.log.append(stamped(t.source, REJECTED, t.trigger, t.data, t.state, None))
            return
        self.log.append(stamped(t.source, TRANSITION, t.trigger, t.data, t.from_state,
                                t.to_state))
        if t.source.startswith("run:"):
            self.runs.on_transition(t)
        elif t.source == KERNEL:
            enter(kernel_effects.EFFECTS, self, t)
        elif t.source == TERMINAL:
            self.driver.on_transition(t)
        else:
            self.services.on_transition(t)

    def _log_degraded(self, error: str | None) -> None:
        if error is None:
            print("krunner: event log recording resumed", file=sys.stderr, flush=True)
        else:
            print(f"krunner: EVENT LOG RECORDING DEGRADED: {error}", file=sys.stderr, flush=True)

    # --- life -------------------------------------------------------------------------
    async def serve(self) -> int:
        self.log.open_session(kernel_id=os.environ.get("BACKENDAI_KERNEL_ID", ""),
                              language=self.config.lang, runner_version=VERSION,
                              host=socket.gethostname(), pid=os.getpid())
        install_logging(self, debug=self.config.debug, version=VERSION,
                        log_place=self.log_place)
        if self.state_dir_problem:
            log.warning("state folder: %s", self.state_dir_problem)
        for warning in self.config.warnings:  # settings that fell back to their defaults
            log.warning("%s", warning)
        self.emit(stamped(KERNEL, OBSERVATION, v.RUNNER_STARTED,
                          {"lang": self.config.lang, "runtime": self.runtime_path,
                           "work_dir": str(self.paths.work_dir),
                           "state_dir": str(self.paths.state_dir)}))
        loop = asyncio.get_running_loop()  # once the kernel machine exists to be stopped
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._request_stop, signum)
        self._adopt_orphans(loop)
        self._bind()
        self._prepare_env()
        self.runs = Runs(self, self.driver, self._batch_env(), self.config.record_output_limit)
        self.services = Services(self)
        self.frontend = FrontEnd(self, self.in_sock, self.runs, self.services,
                                 self.driver.complete, self.started_at,
                                 self.services.reserved_ports(self.own_ports))
        self.spawn(self.frontend.serve(), owner="frontend")
        self.spawn(self._start_up(), owner="startup")
        await self.stop_requested.wait()
        await self._shut_down()
        return 0

    def _adopt_orphans(self, loop: asyncio.AbstractEventLoop) -> None:
        """Orphaned descendants come to the runner (so a stop finds them) and are reaped."""
        if subreaper.become_subreaper():
            self.reaper.install(loop)
        else:
            log.warning("cannot become a child subreaper: processes that leave their run's "
                        "or service's process group are found only while their parent lives")

    def _bind(self) -> None:
        self.zctx = zmq.asyncio.Context()
        self.in_sock = self.zctx.socket(zmq.PULL)
        input_port = _bind(self.in_sock, self.config.input_port, self.config.bind_host)
        out_sock = zmq.Context.instance().socket(zmq.PUSH)
        out_sock.setsockopt(zmq.SNDHWM, SEND_HWM)
        output_port = _bind(out_sock, self.config.output_port, self.config.bind_host)
        self.outbox = Outbox(out_sock, self.log.append)
        self.emit(stamped(KERNEL, OBSERVATION, v.SOCKETS_BOUND,
                          {"input": input_port, "output": output_port}))
        self.own_ports = {input_port, output_port}

    def _prepare_env(self) -> None:
        extra, problem = cfg.read_environ_file(self.paths.config_dir)
        os.environ.update(extra)
        if problem:
            log.warning("%s", problem)
        self.child_env = cfg.build_child_env(dict(os.environ), extra, self.driver.env(),
                                             home=self.paths.work_dir)
        python_extras.prepare_env(self.child_env, self.paths.state_dir)

    def _batch_env(self) -> dict[str, str]:
        hook = install_hook(self.paths.state_dir / "pyhook")
        pythonpath = ":".join(p for p in (str(hook), self.child_env.get("PYTHONPATH")) if p)
        return {**BATCH_ENV, "PYTHONPATH": pythonpath,
                "KRUNNER_USER_INPUT_SOCKET": str(self.paths.user_input_socket)}

    async def _start_up(self) -> None:
        """Everything that may take time; `status` is already being answered meanwhile."""
        self.user_input = UserInputServer(self.paths.user_input_socket, self.runs.ask)
        try:
            await self.user_input.start()
        except OSError as e:
            log.warning("batch input() is unavailable: %s", e)
        await self._start_driver()
        await self._run_bootstrap()
        self.spawn(python_extras.serve_media(self, self.runs), owner="media")
        self.spawn(self.runs.serve(), owner="runs")
        await self.services.start_intrinsic()

    async def _start_driver(self) -> None:
        if not self.driver.has_query:
            self.emit(stamped(KERNEL, OBSERVATION, v.DRIVER_READY, v.DriverReady(
                query=False, reason=f"the {self.config.lang} runtime has no query mode")))
            return
        try:
            await self.driver.start(self.paths.state_dir / "kernels", self.child_env,
                                    self._kernel_died, self.throttle)
        except Exception as e:
            self.emit(stamped(KERNEL, OBSERVATION, v.DRIVER_FAILED,
                              v.Reason(reason=f"failed to start the Jupyter kernel: {e}")))
        else:
            self.emit(stamped(KERNEL, OBSERVATION, v.DRIVER_READY,
                              v.DriverReady(query=True, kernel_pid=self.driver.kernel_pid)))

    async def _run_bootstrap(self) -> None:
        script = self.paths.work_dir / "bootstrap.sh"
        if not script.is_file():
            return
        log.info("running the user bootstrap script")
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", str(script), cwd=self.paths.work_dir, env=self.child_env,
            stdin=asyncio.subprocess.DEVNULL, start_new_session=True)
        code = await proc.wait()
        self.emit(stamped(KERNEL, OBSERVATION, v.BOOTSTRAP_EXITED, {"exit_code": code}))
        log.info("the user bootstrap script has exited with code %d", code)

    def _kernel_died(self, reason: str) -> None:
        self.emit(stamped(KERNEL, OBSERVATION, v.KERNEL_DIED, v.Reason(reason=reason)))

    def _request_stop(self, signum: int) -> None:
        if self.machines.state(KERNEL) in ("stopping", "stopped"):
            return
        self.stop_asked_at = time.monotonic()
        self.watchdog.arm()
        self.emit(stamped(KERNEL, OBSERVATION, v.SHUTDOWN_REQUESTED,
                          v.ShutdownRequested(signal=signal.Signals(signum).name)))

    async def _shut_down(self) -> None:
        """End runs, services and the kernel (whole families), kill what is left below the
        runner, close and export the log; every step boxed into one deadline."""
        deadline = Deadline(self.stop_asked_at or time.monotonic())
        self.in_sock.close(linger=0)
        await asyncio.gather(
            deadline.step("runs", self.runs.stop(), box=3.0, reserve=3.5),
            deadline.step("services", self.services.stop_all(), box=3.0, reserve=3.5))
        cut_short = self.runs.end_unfinished("the runner is shutting down (its work did not "
                                             "end in time)")
        if cut_short:
            log.warning("shutdown: runs ended without their work: %s", cut_short)
        await deadline.step("the kernel", self.driver.shutdown(), box=1.5, reserve=2.5)
        killed = await deadline.step("leftover processes", process_group.end_all(0.3),
                                     box=1.0, reserve=1.8)
        if killed:
            log.warning("shutdown: killed %d leftover process(es): %s", len(killed), killed)
        if hasattr(self, "user_input"):
            await deadline.step("batch input", self.user_input.close(), box=0.3, reserve=1.5)
        await self.outbox.close(timeout=min(0.5, deadline.left(1.5)))
        await self.tasks.cancel_all(timeout=min(0.3, deadline.left(1.2)))
        self.emit(stamped(KERNEL, OBSERVATION, v.RUNNER_STOPPED,
                          {"overrun": deadline.overrun} if deadline.overrun else {}))
        self.log.close(timeout=max(deadline.left(0.3), 0.2))
        deadline.in_thread("transcript export", lambda: durable_log.export_at_exit(
            self.log_place, self.log.session, deadline=deadline.ends - 0.3))
        self.zctx.destroy(linger=0)
        if self.own_state_dir:
            shutil.rmtree(self.paths.state_dir, ignore_errors=True)
