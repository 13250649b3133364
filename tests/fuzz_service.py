"""A service for the interleaving test: a leader listening on a port and a child it started.

`python -m tests.fuzz_service MARK PORT`: both processes carry MARK in their command line, so
the test can count every copy alive from /proc.
"""

from __future__ import annotations

import socket
import subprocess
import sys


def main() -> None:
    mark, port = sys.argv[1], int(sys.argv[2])
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", mark, "child"])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        server.accept()[0].close()


if __name__ == "__main__":
    main()
