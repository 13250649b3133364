"""The run queue: clean/build/exec/code one at a time, and what the runner does as runs move.

`on_transition` is the one effect handler of the run machine: entering a working state starts
the work, entering waiting_input asks the agent, entering a final state sends the one
terminal message the agent waits for.
"""

from __future__ import annotations

import asyncio
import collections
import json
import signal
from dataclasses import dataclass, field

from machines import vocabulary as v
from runner.context import Context
from runner.drivers import Driver, Step
from runner.kernel_errors import KernelDied
from runner.process import GroupProcess
from transcripts.events import INPUT, KERNEL, OBSERVATION, run_source, stamped

FINAL_MESSAGE = {"clean": "clean-finished", "build": "build-finished", "exec": "finished",
                 "code": "finished"}
WORKING_STATES = frozenset({"cleaning", "building", "executing"})
FINAL_STATES = frozenset({"finished", "interrupted", "failed"})
INTERRUPT_ESCALATION = ((3.0, signal.SIGTERM), (2.0, signal.SIGKILL))


@dataclass(slots=True, eq=False)
class Run:
    """One queued op and what the runner holds for it while it lives."""

    id: int
    op: str
    payload: bytes
    exit_code: int | None = None
    failure: str | None = None
    proc: GroupProcess | None = None
    answer: asyncio.Future[str] | None = None
    password: bool = False
    output_bytes: int = 0
    recorded_bytes: int = 0
    capped: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    final_sent: bool = False

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
        self._queue: asyncio.Queue[Run] = asyncio.Queue()
        self._runs: dict[str, Run] = {}
        self._next_id = 1
        self._early_inputs: collections.deque[str] = collections.deque(maxlen=16)
        self.current: Run | None = None

    # --- what the front end calls -------------------------------------------------------
    def submit(self, op: str, payload: bytes) -> Run:
        """Record the op as the run's first event (creating its machine) and queue it."""
        run = Run(self._next_id, op, payload)
        self._next_id += 1
        self._runs[run.source] = run
        self._ctx.emit(stamped(run.source, INPUT, op, payload))
        self._queue.put_nowait(run)
        return run

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
        if run is None or run.ended.is_set():
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

    async def stop(self) -> None:
        """Runner shutdown: end the current run's processes."""
        run = self.current
        if run is not None and run.proc is not None:
            await run.proc.stop()

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

    def on_transition(self, source: str, to_state: str, from_state: str) -> None:
        run = self._runs.get(source)
        if run is None:
            return
        if to_state in WORKING_STATES and from_state == "queued":
            self._ctx.spawn(self._work(run), owner=run.source)
        elif to_state == "waiting_input":
            payload = b"" if run.op == "exec" else json.dumps(
                {"is_password": run.password}).encode()
            self._ctx.send(run.source, "waiting-input", payload)
        elif to_state in FINAL_STATES:
            code = run.exit_code if run.exit_code is not None else v.SKIPPED_EXIT_CODE
            self._finish(run, code)

    def _finish(self, run: Run, exit_code: int) -> None:
        """Send the one terminal message of this run, whatever path got here."""
        if run.answer is not None and not run.answer.done():
            run.answer.cancel()  # e.g. interrupted while asking: nobody will answer now
        if not run.final_sent:
            run.final_sent = True
            self._ctx.send(run.source, FINAL_MESSAGE[run.op],
                           b'{"exitCode": %d}' % exit_code)
        run.ended.set()

    async def _work(self, run: Run) -> None:
        try:
            run.exit_code = await self._perform(run)
        except KernelDied as e:
            run.exit_code, run.failure = 1, str(e)
            self._output(run, "stderr", f"\n[krunner] {e}; it is being restarted\n".encode())
        except Exception as e:  # any runner-side failure still ends the run, and says why
            run.exit_code, run.failure = -1, f"{type(e).__name__}: {e}"
            self._output(run, "stderr", f"[krunner] the {run.op} step could not run: "
                                        f"{run.failure}\n".encode())
        self._ctx.emit(stamped(run.source, OBSERVATION, v.RUN_ENDED, {
            "exit_code": run.exit_code, "failed": run.failure is not None,
            "reason": run.failure, "output_bytes": run.output_bytes,
            "recorded_bytes": run.recorded_bytes}))
        self._finish(run, run.exit_code)  # no-op when the machine already ended it

    async def _perform(self, run: Run) -> int:
        if run.op == "code":
            return await self._query(run)
        step = self._driver.step(run.op, run.payload.decode("utf-8", "replace"))
        return await self._batch(run, step)

    async def _query(self, run: Run) -> int:
        await self._ctx.query_settled.wait()
        kernel = self._ctx.machines.get(KERNEL)
        unavailable = kernel.query_unavailable if kernel is not None else None
        if unavailable is not None:
            self._output(run, "stderr", f"query mode is unavailable: {unavailable}\n".encode())
            return v.SKIPPED_EXIT_CODE
        code = run.payload.decode("utf-8", "replace")
        return await self._driver.query(code, lambda t, p: self._output(run, t, p),
                                        self._ask_with_prompt)

    async def _ask_with_prompt(self, prompt: str, is_password: bool) -> str:
        if prompt:
            self._output(self.current, "stdout", prompt.encode())
        return await self.ask(is_password) or ""

    async def _batch(self, run: Run, step: Step) -> int:
        if step.message:
            self._output(run, "stderr", step.message.encode())
        if step.command is None:
            return step.exit_code
        env = {**self._ctx.child_env, **self._batch_env} if step.batch else self._ctx.child_env
        run.proc = await GroupProcess.start(step.command, cwd=self._ctx.paths.work_dir, env=env)
        self._ctx.emit(stamped(run.source, OBSERVATION, v.PROCESS_STARTED,
                               {"pid": run.proc.pid, "command": step.command}))
        code = await run.proc.pump(lambda t, p: self._output(run, t, p), self._ctx.throttle)
        self._ctx.emit(stamped(run.source, OBSERVATION, v.PROCESS_EXITED,
                               {"pid": run.proc.pid, "exit_code": code}))
        return code

    def _output(self, run: Run | None, msg_type: str, payload: bytes) -> None:
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

    async def _escalate(self, run: Run) -> None:
        for delay, signum in INTERRUPT_ESCALATION:
            await asyncio.sleep(delay)
            if run.ended.is_set() or run.proc is None:
                return
            run.proc.signal(signum)
