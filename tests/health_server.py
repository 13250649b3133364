"""A real HTTP server whose health endpoint misbehaves on demand (tests and bench).

`python -m tests.health_server PORT [CONTROL_FILE]`. Paths: `/ok` 200, `/status/N` N,
`/redirect` 302 to `/ok`, `/loop` redirects forever, `/hang` never answers, `/reset` closes
the connection without answering, `/slow-body` sends headers then trickles the body.
`/huge` answers 200 with a 300 MB body and `/huge-chunked` with one chunk of 300 MB (made as
they are sent, so the server stays small). `/health` answers 200, or hangs while CONTROL_FILE
exists (a model server that hangs).
"""

from __future__ import annotations

import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONTROL: Path | None = None
HUGE = 300 * 1024 * 1024
PIECE = b"x" * (1024 * 1024)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path = self.path
        if path == "/health":
            if CONTROL is not None and CONTROL.exists():
                return self._hang()
            return self._answer(200, b"ok")
        if path == "/ok":
            return self._answer(200, b"ok")
        if path.startswith("/status/"):
            return self._answer(int(path.rsplit("/", 1)[1]), b"status")
        if path == "/redirect":
            return self._redirect("/ok")
        if path == "/loop":
            return self._redirect("/loop")
        if path == "/hang":
            return self._hang()
        if path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            return None
        if path == "/slow-body":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)
            return None
        if path in ("/huge", "/huge-chunked"):
            return self._huge(chunked=path == "/huge-chunked")
        return self._answer(404, b"no such path")

    def _huge(self, chunked: bool) -> None:
        self.send_response(200)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        try:
            if chunked:
                self.wfile.write(b"%x\r\n" % HUGE)
            for _ in range(HUGE // len(PIECE)):
                self.wfile.write(PIECE)
            if chunked:
                self.wfile.write(b"\r\n0\r\n\r\n")
        except OSError:  # the prober read what it wanted and closed the connection
            pass

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _hang(self) -> None:
        time.sleep(3600)


def main() -> None:
    global CONTROL
    port = int(sys.argv[1])
    CONTROL = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
