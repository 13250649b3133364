"""Binding a ZeroMQ socket of the runner (agent protocol and terminal alike) to its port.

One place prints the `binding to ...` line the original prints (the agent's tooling reads it).
It binds sockets it is given; it does not create, configure or close them.
"""

from __future__ import annotations

import zmq


def bind(sock: zmq.Socket, port: int, host: str = "*") -> int:
    """Bind on `host` (`*`: every interface); port 0 picks a free one. The bound port."""
    sock.bind(f"tcp://{host}:{port or '*'}")
    bound = int(sock.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
    print(f"binding to tcp://{host}:{bound}", flush=True)
    return bound
