"""A child process group: output pumped as it comes, stdin held open, its whole family signalled.

stdin is a terminal the runner holds (runner/stdin_tty.py): a program that reads it blocks
until the agent answers (runner/stdin_watch.py notices the read); a program that never reads
pays nothing for it. SIGINT goes to the group, as Ctrl-C in a terminal; SIGTERM and SIGKILL
go to the family (runner/process_group.py), so a stop also ends what left the group and
holds the output open.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from runner.outpipe import OutputPipe
from runner.process_group import Family, signal_group
from runner.stdin_tty import ChildStdin
from runner.stdin_watch import Ask, watch_stdin

TAIL = 256  # bytes of recent output kept: the prompt a program printed before reading
Sink = Callable[[str, bytes], None]  # (stream name, chunk)
Throttle = Callable[[], Awaitable[None]]  # waits while the consumer is behind
INTERRUPT_ESCALATION = ((3.0, signal.SIGTERM), (2.0, signal.SIGKILL))


class GroupProcess:
    """One command run through `/bin/sh -c` (or an argv) in a new session and process group."""

    def __init__(self, proc: asyncio.subprocess.Process, stdin: ChildStdin,
                 outputs: tuple[OutputPipe, OutputPipe], family: Family) -> None:
        self.proc = proc
        self.family = family
        self._outputs = outputs
        self.pid = proc.pid
        self.last_output = time.monotonic()
        self.tail = b""
        self.stopping = False  # interrupted or being stopped: nobody should be asked for input
        self.stdin = stdin

    @classmethod
    async def start(cls, command: str | list[str], *, cwd: Path, env: dict[str, str],
                    owner: str = "group") -> GroupProcess:
        family = Family(owner)
        stdin, read_end = ChildStdin.create()
        (out, out_end), (err, err_end) = OutputPipe.create(), OutputPipe.create()
        common = dict(stdin=read_end, stdout=out_end, stderr=err_end, cwd=cwd,
                      env=family.env(env), start_new_session=True)
        try:
            if isinstance(command, str):
                proc = await asyncio.create_subprocess_shell(command, **common)
            else:
                proc = await asyncio.create_subprocess_exec(*command, **common)
            await out.open()
            await err.open()
            stdin.open()
        except BaseException:
            stdin.close()
            out.close()
            err.close()
            raise
        finally:
            for fd in (read_end, out_end, err_end):
                os.close(fd)
        family.leader = proc.pid
        return cls(proc, stdin, (out, err), family)

    async def pump(self, sink: Sink, throttle: Throttle, ask: Ask | None = None) -> int:
        """Forward stdout and stderr until both close and the process exits; the exit code.

        With `ask`, a read of stdin by any process of the group asks for one line of input.
        """
        watcher = asyncio.create_task(watch_stdin(self, ask)) if ask is not None else None
        try:
            await asyncio.gather(self._copy(self._outputs[0], "stdout", sink, throttle),
                                 self._copy(self._outputs[1], "stderr", sink, throttle))
            return await self.proc.wait()
        finally:
            if watcher is not None:
                watcher.cancel()
            self.stdin.close()
            for pipe in self._outputs:
                pipe.close()

    async def _copy(self, pipe: OutputPipe, name: str, sink: Sink, throttle: Throttle) -> None:
        async for chunk in pipe.chunks():
            self.last_output = time.monotonic()
            self.tail = (self.tail + chunk[-TAIL:])[-TAIL:]
            sink(name, chunk)
            await throttle()

    def output_pending(self) -> bool:
        """Whether output the program wrote has not been forwarded yet."""
        return any(pipe.pending() for pipe in self._outputs)

    def signal(self, signum: int) -> None:
        """SIGINT the group (the shell and what it started); any other signal the family."""
        self.stopping = True
        if signum == signal.SIGINT:
            signal_group(self.pid, signum)
        else:
            self.family.signal(signum)

    async def interrupt(self) -> None:
        """SIGINT the group; SIGTERM, then SIGKILL, if it is still there after a while."""
        self.signal(signal.SIGINT)
        for delay, signum in INTERRUPT_ESCALATION:
            try:
                await asyncio.wait_for(asyncio.shield(self.proc.wait()), delay)
                break
            except TimeoutError:
                self.signal(signum)
        await self.family.kill()  # the leader is gone: nothing of its family outlives it

    async def stop(self, grace: float = 2.0) -> None:
        """SIGTERM the family, then SIGKILL whatever is left after `grace` seconds."""
        self.stopping = True
        self.family.signal(signal.SIGTERM)
        if not await self.family.wait_gone(grace):
            await self.family.kill()
