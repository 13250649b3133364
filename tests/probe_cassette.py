"""Recorded probe exchanges over krunner's own probe transport, and a watch on socket connects.

vcrpy (under pytest-recording) answers for httpx by hooking httpx's own transport classes,
one of which is `httpx.MockTransport`; krunner's `ProbeTransport` is not one of them.
`CassetteTransport` puts `ProbeTransport` behind that hooked class and is handed to the
`Prober` through its `transport` seam: while a cassette records, every exchange goes over
krunner's transport to the real server and is written down; while it replays, vcrpy answers
and nothing reaches the network. It must never be used outside tests, and must not override
`handle_async_request` (vcrpy's hook would then be bypassed).

`connects()` sees every `socket.connect` of this process (a `sys.addaudithook` hook), so a
test can prove that a replay opened no connection.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from runner.probe_transport import ProbeTransport

_watches: list[list[object]] = []
_hooked = False


class CassetteTransport(httpx.MockTransport):
    """`ProbeTransport` behind the transport class vcrpy hooks: a cassette answers first."""

    def __init__(self) -> None:
        self._live = ProbeTransport()
        super().__init__(self._live.handle_async_request)

    async def aclose(self) -> None:
        await self._live.aclose()


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _watches and event == "socket.connect":
        for seen in _watches:
            seen.append(args[1])  # (socket, address)


@contextmanager
def connects() -> Iterator[list[object]]:
    """The addresses this process connects a socket to while the block runs."""
    global _hooked
    if not _hooked:  # an audit hook cannot be removed: one for the whole process
        sys.addaudithook(_audit)
        _hooked = True
    seen: list[object] = []
    _watches.append(seen)
    try:
        yield seen
    finally:
        _watches.remove(seen)
