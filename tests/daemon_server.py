"""A service that daemonizes as classic servers do: fork, setsid, fork, the leader exits 0.

`python -m tests.daemon_server PORT PIDFILE [DELAY]`: the daemon waits DELAY seconds, then
accepts connections on PORT (answering "ok"), after writing its pid to PIDFILE. With DELAY
`early`, the leader itself opens the port and keeps it open a moment before it forks (the
runner sees the port open while the leader lives), and the daemon serves on that socket.
"""

from __future__ import annotations

import os
import socket
import sys
import time


def listening(port: int) -> socket.socket:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    return server


def serve(port: int, pidfile: str, delay: float, server: socket.socket | None) -> None:
    time.sleep(delay)
    server = server or listening(port)
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(pidfile + ".tmp", pidfile)
    while True:
        conn, _ = server.accept()
        conn.sendall(b"ok\n")
        conn.close()


def main() -> None:
    port, pidfile = int(sys.argv[1]), sys.argv[2]
    when = sys.argv[3] if len(sys.argv) > 3 else "0"
    server = None
    if when == "early":
        server = listening(port)
        time.sleep(0.5)
    delay = 0.0 if when == "early" else float(when)
    if os.fork():
        os._exit(0)  # the leader: gone at once, as a daemon's parent is
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    serve(port, pidfile, delay, server)


if __name__ == "__main__":
    main()
