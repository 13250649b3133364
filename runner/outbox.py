"""The one way frames leave for the agent: FIFO, never blocking the caller, every frame recorded."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable

import zmq
import zmq.asyncio

from transcripts.events import OUTPUT, Event, stamped

Recorder = Callable[[Event], None]


BACKLOG_LIMIT = 4 << 20  # bytes waiting for a slow agent before producers are held back
SEND_HWM = 256  # frames ZeroMQ may queue; with 64 KiB chunks about 16 MiB


class Outbox:
    """Sends `[type, payload]` on the PUSH socket in call order.

    A frame goes out at once when the socket can take it; otherwise (no agent connected, high
    water mark reached) it waits in a queue drained by one task, so callers never block and the
    order stays FIFO. Each frame is recorded as an output event when it is handed over.
    """

    def __init__(self, sock: zmq.Socket, record: Recorder) -> None:
        self._sock = sock  # plain socket: a refused non-blocking send raises, it is not deferred
        self._async_sock = zmq.asyncio.Socket.from_socket(sock)
        self._record = record
        self._backlog: collections.deque[tuple[bytes, bytes]] = collections.deque()
        self._backlog_bytes = 0
        self._drainer: asyncio.Task[None] | None = None
        self._drained = asyncio.Event()
        self._drained.set()

    def send(self, source: str, msg_type: str, payload: bytes, *, record: bool = True) -> None:
        if record:
            self._record(stamped(source, OUTPUT, msg_type, payload))
        frames = (msg_type.encode("ascii"), payload)
        if not self._backlog:
            try:
                self._sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=True)
                return
            except zmq.Again:
                pass
        self._backlog.append(frames)
        self._backlog_bytes += len(payload)
        if self._drainer is None:
            self._drained.clear()
            self._drainer = asyncio.get_running_loop().create_task(self._drain(), name="outbox")

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    async def throttle(self) -> None:
        """Hold a producer (a pipe pump) while a slow agent has too much waiting for it.

        The child then blocks on its own writes, so memory stays bounded however much it prints.
        """
        while self._backlog_bytes > BACKLOG_LIMIT:
            await self._drained.wait()

    async def _drain(self) -> None:
        try:
            while self._backlog:
                await self._async_sock.send_multipart(self._backlog[0])
                self._backlog_bytes -= len(self._backlog.popleft()[1])
        finally:
            self._drainer = None
            self._drained.set()

    async def wait_drained(self, timeout: float) -> bool:
        """Wait until every queued frame has been handed to ZeroMQ; False on timeout."""
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 1.0) -> None:
        """Flush what can be flushed within `timeout`, then drop the rest (no agent to take it)."""
        await self.wait_drained(timeout)
        if self._drainer is not None:
            self._drainer.cancel()
        self._sock.close(linger=int(timeout * 1000))
