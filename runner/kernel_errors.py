"""What query mode exchanges with the rest of the runner, without importing jupyter_client.

Types only: importing this must stay cheap (the runner binds its sockets before it loads
jupyter_client).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

OutputSink = Callable[[str, bytes], None]  # (message type, payload)
InputSource = Callable[[str, bool], Awaitable[str]]  # (prompt, is_password) -> text


class KernelDied(RuntimeError):
    """The kernel process went away while a request was in flight."""


class KernelGoneBeforeRun(KernelDied):
    """The kernel was dead before it began the request: nothing of it ran, it may be sent
    again once the kernel is back."""
