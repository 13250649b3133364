"""A child's stdout or stderr pipe, read so that output costs per batch, not per write.

A program writing 8 KiB at a time (stdio, Python's print) would otherwise wake the runner,
and make one message to the agent, for every write: that per-message cost then competes for
the CPU with the program itself, and the stream ran at 0.15-0.8x a bare pipe depending on
who got ahead. Here, after a short read (the runner caught up with the writer), reading
pauses for `COALESCE` while a pipe of `PIPE_SIZE` (set with F_SETPIPE_SZ) takes the writer's
output without blocking it; the next reads then come in full `CHUNK`s. Output that arrives
after a quiet moment still goes out at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import termios
from collections.abc import AsyncIterator

CHUNK = 65536  # largest message to the agent
PIPE_SIZE = 1 << 20  # the kernel pipe between the child and the runner
COALESCE = 0.001  # pause after a short read: the writer fills the pipe meanwhile
HELD = 4 * CHUNK  # read ahead of the messages sent, before the pipe (and child) is held


class OutputPipe:
    """The runner's read end of one output pipe of a child."""

    def __init__(self, read_fd: int) -> None:
        self._fd = read_fd
        self._reader = asyncio.StreamReader(limit=HELD)
        self._transport: asyncio.ReadTransport | None = None

    @classmethod
    def create(cls) -> tuple[OutputPipe, int]:
        """A new pipe: the reader and the write end to give the child (then close it)."""
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError):  # over the system's limit: the default size
            fcntl.fcntl(read_fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        return cls(read_fd), write_fd

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        protocol = asyncio.StreamReaderProtocol(self._reader)
        self._transport, _ = await loop.connect_read_pipe(
            lambda: protocol, os.fdopen(self._fd, "rb", buffering=0))

    def pending(self) -> bool:
        """Whether output waits here, in the kernel pipe or read but not yet taken."""
        if self._transport is None or self._transport.is_closing():
            return False
        held = len(getattr(self._reader, "_buffer", b""))  # StreamReader keeps it private
        try:
            waiting = struct.unpack("i", fcntl.ioctl(self._fd, termios.FIONREAD, b"\0" * 4))[0]
        except OSError:
            waiting = 0
        return held + waiting > 0

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        else:
            os.close(self._fd)

    async def chunks(self) -> AsyncIterator[bytes]:
        """Output as it comes, in as few pieces as the writer's pace allows, until EOF."""
        assert self._transport is not None
        while chunk := await self._reader.read(CHUNK):
            yield chunk
            if len(chunk) < CHUNK:
                self._transport.pause_reading()
                try:
                    await asyncio.sleep(COALESCE)
                finally:
                    self._transport.resume_reading()
