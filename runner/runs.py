"""The run queue: clean/build/exec/code one at a time, and the work each run does.

Runs only emit observations (started, input requested, ended with this exit code); the run
machine decides the states, and `runner/effects/run.py` acts on them (it starts the work
here and sends the run's one terminal message). This module never sends a terminal message
and keeps no run state of its own beyond what the work in flight needs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
from dataclasses import dataclass, field

from machines import vocabulary as v
from machines.base import Transitioned
from runner import tasklog
from runner.context import Context
from runner.drivers import Driver, Step
from runner.effects import enter
from runner.effects import run as run_effects
from runner.kernel_errors import KernelDied, KernelGoneBeforeRun
from runner.languages.toolchain import ToolchainMissing
from runner.process import GroupProcess
from runner.secret_prompt import is_secret_prompt
from transcripts.events import KERNEL, OBSERVATION, run_source, stamped

INTERRUPT_ESCALATION = ((3.0, signal.SIGTERM), (2.0, signal.SIGKILL))
STOP_GRACE = 1.5  # shutdown: SIGTERM to SIGKILL of a run's processes
QUERY_ATTEMPTS = 3  # sends of a query the kernel died before beginning (then it fails)
QUERY_HELD = "QueryHeldForKernel"  # recorded only: the query waits for the kernel's restart
QUERY_STOP_GRACE = 1.0  # shutdown: a query's time to end after the kernel's interrupt


@dataclass(slots=True, eq=False)
class Job:
    """One queued op and what the runner holds for its work while it lives."""

    id: int
    op: str
    payload: bytes
    proc: GroupProcess | None = None
    answer: asyncio.Future[str] | None = None
    password: bool = False
    output_bytes: int = 0
    recorded_bytes: int = 0
    capped: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # set on its final state
    task: asyncio.Task[None] | None = None  # its work, while it runs
    stop_reason: str | None = None  # the runner stopped the work (shutdown): why

    @property
    def source(self) -> str:
        return run_source(self.id)


class Runs:
    """Queues runs, performs them through the driver, and reacts to the run machine."""

    def __init__(self, ctx: Context, driver: Driver, batch_env: dict[str, str],
                 record_limit: int) -> None:
        self._ctx = ctx
        self._driver = driver
        self._batch_env = batch_env
        self._record_limit = record_limit
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._runs: dict[str, Job] = {}
        self._next_id = 1
        self._early_inputs: collections.deque[str] = collections.deque(maxlen=16)
        self.current: Job | None = None
        self._closing: str | None = None  # the runner is shutting down: why
        self._closed = asyncio.Event()

    # --- what the front end calls -------------------------------------------------------
    def allocate(self, op: str, payload: bytes) -> Job:
        """A new run and its stream; the front end records the op under `job.source`."""
        job = Job(self._next_id, op, payload)
        self._next_id += 1
        self._runs[job.source] = job
        return job

    def enqueue(self, job: Job) -> None:
        self._queue.put_nowait(job)

    def expects_password(self) -> bool:
        run = self.current
        return run is not None and run.answer is not None and run.password

    def deliver_input(self, text: str) -> None:
        """The agent's `input`: answers the waiting program, or is kept for the next ask."""
        run = self.current
        if run is not None and run.answer is not None and not run.answer.done():
            run.answer.set_result(text)
        else:
            self._early_inputs.append(text)

    def interrupt(self) -> None:
        run = self.current
        if run is None:
            return
        if run.proc is not None:
            run.proc.signal(signal.SIGINT)
            self._ctx.spawn(self._escalate(run), owner=f"{run.source}:interrupt")
        elif run.op == "code":
            self._ctx.spawn(self._driver.interrupt(), owner=f"{run.source}:interrupt")

    async def ask(self, is_password: bool) -> str | None:
        """A program of the current run wants input: ask the agent and wait for the answer."""
        run = self.current
        if run is None or run.ended.is_set() or self._closing is not None:
            return None
        if self._early_inputs:
            return self._early_inputs.popleft()
        run.password = is_password
        run.answer = asyncio.get_running_loop().create_future()
        self._ctx.emit(stamped(run.source, OBSERVATION, v.INPUT_REQUESTED,
                               {"is_password": is_password}))
        try:
            return await run.answer
        finally:
            run.answer = None

    async def stop(self, reason: str = "the runner is shutting down") -> None:
        """Runner shutdown: every run ends, with its end event (failed, with `reason`).

        The current run's processes (its whole family) are stopped, a query is interrupted;
        work that still does not end is cancelled. Queued runs end without starting.
        """
        self._closing = reason
        self._closed.set()
        run = self.current
        if run is not None and not run.ended.is_set():
            await self._stop_current(run, reason)
        while not self._queue.empty():  # its work sees the shutdown and ends the run at once
            job = self._queue.get_nowait()
            self._ctx.emit(stamped(job.source, OBSERVATION, v.RUN_STARTED, {"op": job.op}))
        waits = [asyncio.ensure_future(job.ended.wait()) for job in self._runs.values()
                 if not job.ended.is_set()]
        if waits:
            await asyncio.wait(waits, timeout=QUERY_STOP_GRACE)
            for wait in waits:
                wait.cancel()

    def end_unfinished(self, reason: str) -> list[str]:
        """The shutdown's last word on runs (after `stop` ran out of time): every run not
        ended yet ends now, failed with `reason`; the streams it ended."""
        ended = []
        for job in list(self._runs.values()):
            if job.ended.is_set():
                continue
            if self._ctx.machines.state(job.source) == "queued":
                self._ctx.emit(stamped(job.source, OBSERVATION, v.RUN_STARTED, {"op": job.op}))
            if job.task is not None:
                job.task.cancel()
            self._ended(job, -1, reason)
            ended.append(job.source)
        return ended

    async def _stop_current(self, run: Job, reason: str) -> None:
        run.stop_reason = reason
        if run.answer is not None and not run.answer.done():
            run.answer.cancel()  # nobody will answer now
        if run.proc is not None:
            await run.proc.stop(STOP_GRACE)
        elif run.op == "code":
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._driver.interrupt(), QUERY_STOP_GRACE / 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.ended.wait(), QUERY_STOP_GRACE)
        if not run.ended.is_set() and run.task is not None:
            run.task.cancel()  # its work ends the run with the reason (see `_work`)
            await asyncio.wait({run.task}, timeout=QUERY_STOP_GRACE)

    # --- the loop ----------------------------------------------------------------------
    async def serve(self) -> None:
        while True:
            run = await self._queue.get()
            self.current = run
            self._ctx.emit(stamped(run.source, OBSERVATION, v.RUN_STARTED, {"op": run.op}))
            await run.ended.wait()
            self._early_inputs.clear()
            self.current = None
            del self._runs[run.source]

    # --- the run machine's effects call these -------------------------------------------
    def on_transition(self, t: Transitioned) -> None:
        job = self._runs.get(t.source)
        if job is not None:
            enter(run_effects.EFFECTS, self, t, job)

    def begin(self, job: Job) -> None:
        job.task = self._ctx.spawn(self._work(job), owner=job.source)

    def send(self, source: str, msg_type: str, payload: bytes) -> None:
        self._ctx.send(source, msg_type, payload)

    async def _work(self, run: Job) -> None:
        failure: str | None = None
        try:
            if self._closing is not None:
                raise asyncio.CancelledError
            exit_code = await self._perform(run)
            failure = run.stop_reason
        except asyncio.CancelledError:  # the runner stops: the run still gets its end
            exit_code, failure = -1, run.stop_reason or self._closing or "cancelled"
        except ToolchainMissing as e:
            exit_code = e.exit_code
            self._output(run, "stderr", f"krunner: {e}\n".encode())
            self._ctx.emit(stamped(run.source, OBSERVATION, "ToolchainMissing",
                                   {"lang": e.lang, "missing": e.what}))
        except KernelDied as e:
            exit_code, failure = 1, str(e)
            self._output(run, "stderr", f"\n[krunner] {e}; it is being restarted\n".encode())
        except Exception as e:  # any runner-side failure still ends the run, and says why
            exit_code, failure = -1, f"{type(e).__name__}: {e}"
            self._output(run, "stderr", f"[krunner] the {run.op} step could not run: "
                                        f"{failure}\n".encode())
        self._ended(run, exit_code, failure)

    def _ended(self, run: Job, exit_code: int, failure: str | None) -> None:
        if run.ended.is_set():
            return  # `end_unfinished` ended it already
        self._ctx.emit(stamped(run.source, OBSERVATION, v.RUN_ENDED, v.RunEnded(
            exit_code=exit_code, failed=failure is not None, reason=failure,
            output_bytes=run.output_bytes, recorded_bytes=run.recorded_bytes)))

    async def _perform(self, run: Job) -> int:
        if run.op == "code":
            return await self._query(run)
        step = self._driver.step(run.op, run.payload.decode("utf-8", "replace"))
        return await self._batch(run, step)

    async def _query(self, run: Job) -> int:
        """The query, in the kernel once it is ready; sent again if the kernel turns out to
        have died before beginning it (it waits for the restart), refused if query mode is
        gone. Never lost."""
        code = run.payload.decode("utf-8", "replace")
        for attempt in range(1, QUERY_ATTEMPTS + 1):
            await self._query_settled()
            kernel = self._ctx.machines.get(KERNEL)
            unavailable = kernel.query_unavailable if kernel is not None else None
            if unavailable is not None:
                self._output(run, "stderr",
                             f"query mode is unavailable: {unavailable}\n".encode())
                return v.SKIPPED_EXIT_CODE
            try:
                return await self._driver.query(code, lambda t, p: self._output(run, t, p),
                                                self._ask_with_prompt)
            except KernelGoneBeforeRun as e:
                if attempt == QUERY_ATTEMPTS:
                    raise
                self._ctx.emit(stamped(run.source, OBSERVATION, QUERY_HELD,
                                       {"reason": str(e), "attempt": attempt}))
        raise AssertionError("unreachable")

    async def _query_settled(self) -> None:
        """Wait for the kernel to be ready or failed; cancelled if the runner stops first."""
        settled = asyncio.ensure_future(self._ctx.query_settled.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({settled, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            settled.cancel()
            closed.cancel()
        if self._closing is not None:
            raise asyncio.CancelledError

    async def _ask_with_prompt(self, prompt: str, is_password: bool) -> str:
        if prompt:
            self._output(self.current, "stdout", prompt.encode())
        return await self.ask(is_password or is_secret_prompt(prompt)) or ""

    async def _batch(self, run: Job, step: Step) -> int:
        if step.message:
            self._output(run, "stderr", step.message.encode())
        if step.command is None:
            return step.exit_code
        env = {**self._ctx.child_env, **self._batch_env} if step.batch else self._ctx.child_env
        run.proc = await GroupProcess.start(step.command, cwd=self._ctx.paths.work_dir, env=env,
                                            owner=run.source)
        self._ctx.emit(stamped(run.source, OBSERVATION, v.PROCESS_STARTED,
                               {"pid": run.proc.pid, "command": step.command}))
        with tasklog.copying(lambda t, p: self._output(run, t, p), self._ctx.paths.work_dir,
                             os.environ.get("BACKENDAI_KERNEL_ID")) as sink:
            code = await run.proc.pump(sink, self._ctx.throttle, ask=self.ask)
        self._ctx.emit(stamped(run.source, OBSERVATION, v.PROCESS_EXITED,
                               {"pid": run.proc.pid, "exit_code": code}))
        return code

    def _output(self, run: Job | None, msg_type: str, payload: bytes) -> None:
        if run is None:
            return
        run.output_bytes += len(payload)
        record = run.recorded_bytes + len(payload) <= self._record_limit
        if record:
            run.recorded_bytes += len(payload)
        elif not run.capped:
            run.capped = True
            self._ctx.emit(stamped(run.source, OBSERVATION, v.OUTPUT_RECORDING_CAPPED,
                                   {"limit": self._record_limit}))
        self._ctx.send(run.source, msg_type, payload, record=record)

    async def _escalate(self, run: Job) -> None:
        for delay, signum in INTERRUPT_ESCALATION:
            await asyncio.sleep(delay)
            if run.ended.is_set() or run.proc is None:
                return
            run.proc.signal(signum)
