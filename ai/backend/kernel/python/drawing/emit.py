"""How user code hands a drawing to the runner, which sends it to the agent as `media`.

- Query mode (inside the Jupyter kernel): an IPython `display_data` whose only MIME type is
  `application/x-sorna-drawing`; the runner's Jupyter driver forwards it as `media`, in order
  with the cell's other output.
- Batch mode (any other Python the runner started): one JSON line `{"type", "data"}` over the
  Unix socket named by `KRUNNER_MEDIA_SOCKET`; the runner answers `ok` once the record is on
  its way to the agent. Stdout is flushed first; text still in the pipe may arrive after it.

In the original nothing defined the emit function, so drawings never left the container.
"""

from __future__ import annotations

import json
import os
import socket
import sys

MEDIA_TYPE = "application/x-sorna-drawing"
MEDIA_SOCKET_ENV = "KRUNNER_MEDIA_SOCKET"
TIMEOUT = 10.0


def emit(media_type: str, data: str) -> bool:
    """Send one media record to the runner; False (and a note on stderr) if none listens."""
    if _in_ipython_kernel():
        from IPython.display import publish_display_data

        publish_display_data({media_type: data})
        return True
    path = os.environ.get(MEDIA_SOCKET_ENV)
    if not path:
        print("drawing: not started by a kernel runner; nothing is shown", file=sys.stderr)
        return False
    sys.stdout.flush()
    try:
        reply = _send(path, json.dumps({"type": media_type, "data": data}).encode() + b"\n")
    except OSError as e:
        reply = f"the runner cannot be reached at {path}: {e}"
    if reply != "ok":
        print(f"drawing: not shown: {reply}", file=sys.stderr)
    return reply == "ok"


def _in_ipython_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _send(path: str, line: bytes) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(path)
        sock.sendall(line)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace").strip()
