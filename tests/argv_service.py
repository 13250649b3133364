"""A service that records the arguments it was started with: `python -m tests.argv_service
PORT [--out FILE] [ARG...]` writes its argv (JSON) to FILE, then listens on PORT."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path


def main() -> None:
    args = sys.argv[1:]
    if "--out" in args:
        Path(args[args.index("--out") + 1]).write_text(json.dumps(args))
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(args[0])))
    server.listen()
    while True:
        server.accept()[0].close()


if __name__ == "__main__":
    main()
