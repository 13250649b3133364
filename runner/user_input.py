"""`input()` for batch programs: a Unix socket the program's Python connects to (PROTOCOL §5.4).

Our `sitecustomize` sends one JSON line (`{"is_password": ..., "prompt": ...}`) and reads the
answer to EOF, so long or multi-byte answers arrive whole (the original read one 1024-byte
chunk). An `input()` whose prompt names a secret ("Enter your API key: ") counts as getpass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from runner.secret_prompt import is_secret_prompt

Ask = Callable[[bool], Awaitable[str | None]]  # is_password -> text, None if nobody can answer

UNAVAILABLE = "<user-input-unavailable>"
REQUEST_WAIT = 0.5  # clients of the original send nothing; do not wait on them for long

SITECUSTOMIZE = r'''
"""krunner: route input() and getpass() of batch programs to the agent."""
import builtins, json, os, socket


def _ask(prompt, is_password):
    print(prompt, end="", flush=True)
    path = os.environ.get("KRUNNER_USER_INPUT_SOCKET", "/tmp/bai-user-input.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            return "<user-input-unavailable>"
        request = {"is_password": is_password, "prompt": prompt[-256:]}
        sock.sendall(json.dumps(request).encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


if os.environ.get("_BACKEND_BATCH_MODE", "0") not in ("", "0"):
    builtins._input = builtins.input
    builtins.input = lambda prompt="": _ask(str(prompt), False)
    import getpass
    getpass.getpass = lambda prompt="Password: ", stream=None: _ask(str(prompt), True)
'''


def install_hook(folder: Path) -> Path:
    """Write the sitecustomize hook into a runner-owned folder; put it first on PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder


class UserInputServer:
    """Serves one answer per connection, asked from whoever is running now."""

    def __init__(self, path: Path, ask: Ask) -> None:
        self.path = path
        self._ask = ask
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket file from an earlier runner
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            is_password = await _read_request(reader)
            text = await self._ask(is_password)
            writer.write((UNAVAILABLE if text is None else text).encode("utf-8"))
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> bool:
    """Whether the client asks for a secret (getpass, or a prompt naming one)."""
    try:
        line = await asyncio.wait_for(reader.readline(), REQUEST_WAIT)
        request = json.loads(line or b"{}")
        prompt = request.get("prompt")
        return bool(request.get("is_password", False)) or (
            isinstance(prompt, str) and is_secret_prompt(prompt))
    except (TimeoutError, ValueError, AttributeError):
        return False
