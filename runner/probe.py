"""One HTTP health probe of a model service.

`http.client` in a small dedicated thread pool, with the probe timeout as the socket timeout,
so a hung server can never hold a thread for longer than one probe (the original's urllib
call had no socket timeout and could starve the loop's default executor). Redirects are not
followed, every status is compared with the expected one, and every failure has a reason.
"""

from __future__ import annotations

import asyncio
import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    status: int | None
    reason: str | None
    latency_ms: float


def probe_blocking(host: str, port: int, path: str, expected: int, timeout: float
                   ) -> ProbeResult:
    """GET http://host:port/path once; ok when the status is the expected one."""
    began = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "krunner-probe"})
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except TimeoutError:
        return _failed(None, f"timed out after {timeout:g} s", began)
    except ConnectionRefusedError:
        return _failed(None, "connection refused", began)
    except (OSError, http.client.HTTPException) as e:
        return _failed(None, f"{type(e).__name__}: {e}", began)
    finally:
        conn.close()
    latency = (time.perf_counter() - began) * 1000
    if status != expected:
        return ProbeResult(False, status, f"status {status}, expected {expected}", latency)
    return ProbeResult(True, status, None, latency)


def _failed(status: int | None, reason: str, began: float) -> ProbeResult:
    return ProbeResult(False, status, reason, (time.perf_counter() - began) * 1000)


async def probe(port: int, path: str, expected: int, timeout: float,
                host: str = "127.0.0.1") -> ProbeResult:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, probe_blocking, host, port, path, expected, timeout)
