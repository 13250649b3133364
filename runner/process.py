"""A batch child: its own process group, output pumped as it comes, the whole group signalled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from runner.process_group import end_group, signal_group

CHUNK = 65536
Sink = Callable[[str, bytes], None]  # (stream name, chunk)
Throttle = Callable[[], Awaitable[None]]  # waits while the consumer is behind


class GroupProcess:
    """One command run through `/bin/sh -c` (or an argv) in a new session and process group."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pid = proc.pid

    @classmethod
    async def start(cls, command: str | list[str], *, cwd: Path, env: dict[str, str]
                    ) -> GroupProcess:
        common = dict(stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                      stderr=asyncio.subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)
        if isinstance(command, str):
            proc = await asyncio.create_subprocess_shell(command, **common)
        else:
            proc = await asyncio.create_subprocess_exec(*command, **common)
        return cls(proc)

    async def pump(self, sink: Sink, throttle: Throttle) -> int:
        """Forward stdout and stderr until both close and the process exits; the exit code."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        await asyncio.gather(_copy(self.proc.stdout, "stdout", sink, throttle),
                             _copy(self.proc.stderr, "stderr", sink, throttle))
        return await self.proc.wait()

    def signal(self, signum: int) -> None:
        """Signal the whole group (the shell and everything it started)."""
        signal_group(self.pid, signum)

    async def stop(self, grace: float = 2.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after `grace` seconds."""
        await end_group(self.proc, grace)


async def _copy(stream: asyncio.StreamReader, name: str, sink: Sink, throttle: Throttle
                ) -> None:
    while chunk := await stream.read(CHUNK):
        sink(name, chunk)
        await throttle()
