"""HTTP health probes of a model service, one `Prober` (and one httpx client) per model.

Each probe is one GET with a real deadline over the whole exchange (connect, headers, body),
so a hung server costs only its own model's probe; redirects are followed as the original's
urllib did; every failure has a reason a person can read: refused, reset, timed out, body
too slow, wrong status, too many redirects. At most `MAX_BODY` bytes of a body are read (the
verdict is the status; a server sending gigabytes costs the runner nothing), and a probe
never raises: whatever goes wrong is a failed probe with its reason.
"""

from __future__ import annotations

import asyncio
import errno
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

MAX_REDIRECTS = 5
MAX_BODY = 64 * 1024  # bytes of a body read; the connection is closed after them


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    status: int | None
    reason: str | None
    latency_ms: float
    redirects: int = 0


class Prober:
    """Probes one model's health endpoint; `aclose()` when the model stops. `transport` is
    the seam recorded exchanges answer through (tests); by default krunner's own."""

    def __init__(self, timeout: float, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        import httpx  # imported here: it costs a runner without model services 0.13 s

        from runner.probe_transport import ProbeTransport

        self.timeout = timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), follow_redirects=True, max_redirects=MAX_REDIRECTS,
            trust_env=False,  # a proxy from the environment must never sit before localhost
            headers={"User-Agent": "krunner-probe"}, transport=transport or ProbeTransport())

    async def probe(self, url: str, expected: int) -> ProbeResult:
        """GET `url` once; ok when the final status (after redirects) is `expected`."""
        import httpx

        began = time.perf_counter()
        status: int | None = None
        redirects = 0
        try:
            async with asyncio.timeout(self.timeout):
                async with self._client.stream("GET", url) as resp:
                    status, redirects = resp.status_code, len(resp.history)
                    await _read_some(resp)
        except TimeoutError:
            if status is None:
                return _failed(None, f"timed out after {self.timeout:g} s", began)
            return _failed(status, f"the body did not arrive within {self.timeout:g} s "
                                   f"(status {status})", began)
        except httpx.TooManyRedirects:
            return _failed(None, f"more than {MAX_REDIRECTS} redirects", began)
        except httpx.TimeoutException:
            return _failed(status, f"timed out after {self.timeout:g} s", began)
        except httpx.HTTPError as e:
            return _failed(status, _transport_reason(e), began)
        except Exception as e:  # e.g. an invalid URL: a failed probe, never a dead loop
            return _failed(status, f"{type(e).__name__}: {e}", began)
        latency = (time.perf_counter() - began) * 1000
        if status != expected:
            return ProbeResult(False, status, f"status {status}, expected {expected}", latency,
                               redirects)
        return ProbeResult(True, status, None, latency, redirects)

    async def aclose(self) -> None:
        await self._client.aclose()


async def _read_some(resp: httpx.Response) -> None:
    """Read the body up to `MAX_BODY` bytes (undecoded: no compression bomb), drop the rest."""
    read = 0
    async for chunk in resp.aiter_raw():
        read += len(chunk)
        if read >= MAX_BODY:
            return


def _transport_reason(e: httpx.HTTPError) -> str:
    import httpx

    cause: BaseException | None = e
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == \
                errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        cause = cause.__cause__ or cause.__context__
    text = str(e)
    if isinstance(e, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused"
    if isinstance(e, (httpx.RemoteProtocolError, httpx.ReadError)):
        return f"connection reset ({text or type(e).__name__})"
    return f"{type(e).__name__}: {text}"


def _failed(status: int | None, reason: str, began: float) -> ProbeResult:
    return ProbeResult(False, status, reason, (time.perf_counter() - began) * 1000)
