"""Free TCP ports on the loopback interface, for runners, test servers and benchmarks.

The one copy tests, tools and benchmarks share (tools must not import tests). It only asks
the system for a port; it never holds one open or starts anything.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now (the system's pick; free until someone binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
