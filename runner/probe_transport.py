"""A lean httpx transport for health probes: one HTTP/1.1 GET on a plain asyncio connection.

httpx's default transport (httpcore over anyio) costs about 2 ms of CPU per request, which
at 100 ms periods and many models takes a third of a core from the event loop; this one costs
a few tenths. httpx keeps doing what it does well above it (redirects, the response object).
vcrpy's cassettes hook httpx's own transports, never this one: tests replay through the
`Prober`'s `transport` seam (tests/probe_cassette.py). One connection per probe,
`Connection: close`; the body is streamed, so a slow one is told apart from no answer, and
at most `MAX_BODY` bytes of it are read (also of the redirects httpx reads whole): the rest
is never read, the connection is closed. A malformed answer is an
`httpx.RemoteProtocolError`, never another exception.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024
PIECE = 16 * 1024


class ProbeTransport(httpx.AsyncBaseTransport):
    """Plain `http://` GETs; anything else goes to httpx's own transport."""

    def __init__(self) -> None:
        self._fallback: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        try:
            reader, writer = await asyncio.open_connection(request.url.host,
                                                           request.url.port or 80)
        except OSError as e:
            raise httpx.ConnectError(str(e) or type(e).__name__, request=request) from e
        try:
            writer.write(_head(request))
            status, headers = await _read_head(reader, request)
        except BaseException:
            writer.close()
            raise
        return httpx.Response(status, headers=headers, request=request,
                              stream=_Body(reader, writer, headers, request))

    async def aclose(self) -> None:
        if self._fallback is not None:
            await self._fallback.aclose()


def _head(request: httpx.Request) -> bytes:
    lines = [f"{request.method} {request.url.raw_path.decode('ascii')} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() != "connection"]
    return ("\r\n".join([*lines, "Connection: close", "", ""])).encode("latin-1")


async def _read_head(reader: asyncio.StreamReader, request: httpx.Request
                     ) -> tuple[int, list[tuple[str, str]]]:
    try:
        status_line = await reader.readline()
        if not status_line:
            raise httpx.RemoteProtocolError("the server closed the connection without "
                                            "answering", request=request)
        parts = status_line.decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise httpx.RemoteProtocolError(f"not an HTTP answer: {status_line[:80]!r}",
                                            request=request)
        headers: list[tuple[str, str]] = []
        size = len(status_line)
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            size += len(line)
            if size > MAX_HEAD:
                raise httpx.RemoteProtocolError("the answer's head is too large", request=request)
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
    except ConnectionError as e:
        raise httpx.ReadError(str(e) or type(e).__name__, request=request) from e
    except ValueError as e:  # a line beyond the reader's limit
        raise httpx.RemoteProtocolError(f"malformed answer: {e}", request=request) from e
    return int(parts[1]), headers


class _Body(httpx.AsyncByteStream):
    """The body as it arrives (by Content-Length, chunked, or until the server closes), up to
    `MAX_BODY` bytes in pieces of at most `PIECE`; what comes after is not read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 headers: list[tuple[str, str]], request: httpx.Request) -> None:
        self._reader, self._writer, self._request = reader, writer, request
        lowered = {k.lower(): v for k, v in headers}
        length = lowered.get("content-length", "").strip()
        self._length = int(length) if length.isdigit() else None
        self._chunked = "chunked" in lowered.get("transfer-encoding", "").lower()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        left = MAX_BODY
        try:
            async for piece in self._pieces():
                piece = piece[:left]
                left -= len(piece)
                yield piece
                if left <= 0:
                    return
        except ConnectionError as e:
            raise httpx.ReadError(str(e) or type(e).__name__, request=self._request) from e
        except (ValueError, asyncio.IncompleteReadError) as e:
            raise httpx.RemoteProtocolError(f"malformed body: {e}", request=self._request
                                            ) from e

    def _pieces(self) -> AsyncIterator[bytes]:
        if self._chunked:
            return self._chunks()
        return self._sized(self._length)

    async def _sized(self, length: int | None) -> AsyncIterator[bytes]:
        """`length` bytes, or everything until the server closes (None)."""
        left = length
        while left is None or left > 0:
            chunk = await self._reader.read(PIECE if left is None else min(left, PIECE))
            if not chunk:
                if left is None:
                    return
                raise httpx.RemoteProtocolError("the body ended early", request=self._request)
            if left is not None:
                left -= len(chunk)
            yield chunk

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            size = int((await self._reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size <= 0:
                return
            async for piece in self._sized(size):
                yield piece
            await self._reader.readline()

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await self._writer.wait_closed()
