"""What the runner gives the user's Python (PROTOCOL §10): the drawing API and the helper
package on its path, and the channel through which a batch program's drawing reaches the agent.

The two packages are copied from wherever this runner finds them (in a container, the folders
the agent mounted) into a runner-owned folder that goes last on the children's `PYTHONPATH`,
so user code imports `ai.backend.kernel.python.drawing` and `ai.backend.helpers` and nothing
else of krunner. The media channel is a Unix socket (`KRUNNER_MEDIA_SOCKET`); its protocol is
in `ai/backend/kernel/python/drawing/emit.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from runner.context import Context

USER_PACKAGES = ("ai.backend.kernel.python.drawing", "ai.backend.helpers")
MEDIA_ENV = "KRUNNER_MEDIA_SOCKET"
MAX_RECORD = 16 << 20  # one drawing; more is refused with a reason
REQUEST_WAIT = 10.0
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes
log = logging.getLogger("krunner")


class _Run(Protocol):
    @property
    def source(self) -> str: ...


class HasCurrentRun(Protocol):
    current: _Run | None  # the run queue's run in progress


def prepare_env(env: dict[str, str], state_dir: Path) -> None:
    """Put the user library last on `env`'s PYTHONPATH and name the media socket in it."""
    library = install_user_library(state_dir / "pylib")
    env["PYTHONPATH"] = ":".join(p for p in (env.get("PYTHONPATH"), str(library)) if p)
    socket_path = state_dir / "media.sock"
    if len(str(socket_path)) > SOCKET_PATH_MAX:
        socket_path = Path(tempfile.mkdtemp(prefix="krunner-media-")) / "media.sock"
    env[MEDIA_ENV] = str(socket_path)


def install_user_library(folder: Path) -> Path:
    """Copy the user-facing packages into `folder` (namespace packages above them)."""
    for name in USER_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            log.warning("%s is not available to user code: not found beside the runner", name)
            continue
        target = folder.joinpath(*name.split("."))
        shutil.copytree(Path(spec.origin).parent, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return folder


async def serve_media(ctx: Context, runs: HasCurrentRun) -> None:
    """Accept media records until cancelled; each goes to the run that is current."""
    path = Path(ctx.child_env[MEDIA_ENV])
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                reply = _deliver(ctx, runs, await asyncio.wait_for(reader.readline(),
                                                                   REQUEST_WAIT))
            except ValueError:  # longer than MAX_RECORD
                reply = f"error: a media record is limited to {MAX_RECORD} bytes"
            writer.write((reply + "\n").encode())
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    try:
        server = await asyncio.start_unix_server(accept, path=str(path), limit=MAX_RECORD)
    except OSError as e:
        log.warning("drawings from batch programs are unavailable: %s", e)
        return
    try:
        await asyncio.Future()  # until the runner cancels it at shutdown
    finally:
        server.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _deliver(ctx: Context, runs: HasCurrentRun, line: bytes) -> str:
    """Send one record to the agent; `ok` or why not."""
    try:
        record = json.loads(line)
    except ValueError:
        return "error: not a JSON line"
    if not (isinstance(record, dict) and isinstance(record.get("type"), str)
            and isinstance(record.get("data"), str)):
        return 'error: expected {"type": str, "data": str}'
    run = runs.current
    if run is None:
        return "error: no run is in progress to show it in"
    media = {"type": record["type"], "data": record["data"]}
    ctx.send(run.source, "media", json.dumps(media).encode())
    return "ok"
