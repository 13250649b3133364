#!/usr/bin/env python3
"""A stand-in for ttyd (Debian has none): records its argv, serves the port, and runs the
shell command it was given in a pseudo-terminal, as ttyd does for each browser connection."""

import json
import os
import pty
import socket
import sys

args = sys.argv[1:]
with open(os.environ["TTYD_STANDIN_RECORD"], "w") as out:
    json.dump(args, out)
port = int(args[args.index("-p") + 1])
command = args[args.index("-p") + 2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(command[0], command)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
while True:
    try:
        os.read(fd, 4096)  # keep the terminal drained
    except OSError:
        break
server.accept()
