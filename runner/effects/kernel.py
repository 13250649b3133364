"""The kernel machine's effect table: what the runner does on entering each kernel state.

Handlers only act (wake waiting queries, restart the Jupyter kernel, wake the shutdown) and
emit observations; whether query mode works is the machine's state, never a flag here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from machines import vocabulary as v
from machines.base import Transitioned
from runner.drivers import Driver
from transcripts.events import KERNEL, OBSERVATION, Event, stamped

log = logging.getLogger("krunner")


class KernelHost(Protocol):
    """The runner as the kernel's effects see it."""

    driver: Driver
    query_settled: asyncio.Event  # set while the kernel is ready or failed
    stop_requested: asyncio.Event  # `serve` wakes on it and shuts down

    def emit(self, event: Event) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any], owner: str) -> asyncio.Task[Any]: ...


def _settled(host: KernelHost, t: Transitioned) -> None:
    """Let waiting queries go ahead (or be refused, if this runtime has no query mode)."""
    host.query_settled.set()


def _failed(host: KernelHost, t: Transitioned) -> None:
    """Log why query mode is gone; waiting and later queries are refused with the reason."""
    log.error("query mode is disabled: %s", (t.data or {}).get("reason"))
    host.query_settled.set()


def _restarting(host: KernelHost, t: Transitioned) -> None:
    """Hold new queries and restart the Jupyter kernel (KernelRestarted or ...Failed)."""
    host.query_settled.clear()  # queries wait for the restart
    host.spawn(_restart(host), owner="kernel-restart")


async def _restart(host: KernelHost) -> None:
    try:
        await host.driver.restart()
    except Exception as e:
        host.emit(stamped(KERNEL, OBSERVATION, v.KERNEL_RESTART_FAILED,
                          v.Reason(reason=f"the Jupyter kernel could not be restarted: {e}")))
    else:
        host.emit(stamped(KERNEL, OBSERVATION, v.KERNEL_RESTARTED, {}))


def _stopping(host: KernelHost, t: Transitioned) -> None:
    """Wake the runner's shutdown (bounded): runs end, services and the kernel go, log closed."""
    host.stop_requested.set()


EFFECTS: dict[str, Callable[[KernelHost, Transitioned], None]] = {
    "ready": _settled,
    "failed": _failed,
    "restarting": _restarting,
    "stopping": _stopping,
}
