"""A real Jupyter kernel behind query mode: started, watched for death, restarted, talked to.

One reader task per channel routes every message to the request it answers (by parent
msg_id), so an execute, a completion and stdin traffic can be in flight at once. The kernel
is a `Family` (runner/process_group.py): what a cell starts, even with `setsid`, ends with it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager

from runner import subreaper
from runner.kernel_errors import InputSource, KernelDied, KernelGoneBeforeRun, OutputSink
from runner.process_group import Family

# Preferred MIME type first; text/plain only when nothing richer is there.
MIME_ORDER = ("application/x-sorna-drawing", "image/png", "image/jpeg", "image/svg+xml",
              "text/html", "text/plain")
PASSED_AS_IS = frozenset({"application/x-sorna-drawing"})  # the drawing API's data (§10.1)
WATCH_PERIOD = 0.2


@dataclass(slots=True)
class _Request:
    on_output: OutputSink | None
    on_input: InputSource | None
    reply: asyncio.Future[dict[str, Any]]
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    begun: bool = False  # the kernel said anything about it: it may have run some of it


class JupyterKernel:
    """Owns one kernel process and one client; `execute` runs a cell and streams its output."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path, spec_dir: Path,
                 on_death: Callable[[str], None],
                 throttle: Callable[[], Awaitable[None]]) -> None:
        self._argv = argv
        self._env = env
        self._cwd = cwd
        self._spec_dir = spec_dir
        self._on_death = on_death
        self._throttle = throttle
        self._km: AsyncKernelManager | None = None
        self._kc: AsyncKernelClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._requests: dict[str, _Request] = {}
        self._answers: set[asyncio.Task[None]] = set()  # stdin replies in flight
        self._family = Family("kernel")
        self._death_told = False
        self.pid: int | None = None

    async def start(self, timeout: float = 60.0) -> None:
        """Start the kernel and wait until it answers."""
        self._write_spec()
        ksm = KernelSpecManager(kernel_dirs=[str(self._spec_dir)], ensure_native_kernel=False)
        km = AsyncKernelManager(kernel_name="krunner", kernel_spec_manager=ksm)
        self._family = Family("kernel")
        self._death_told = False
        await km.start_kernel(env=self._family.env(self._env), cwd=str(self._cwd))
        self.pid = self._family.leader = getattr(km.provisioner, "pid", None)
        if self.pid is not None:
            subreaper.claim(self.pid)  # its Popen waits for it
        kc = km.client()
        kc.start_channels()
        self._km, self._kc = km, kc
        try:
            await kc.wait_for_ready(timeout=timeout)
        except RuntimeError:
            await self.shutdown()
            raise
        self._tasks.append(asyncio.create_task(self._read(kc.iopub_channel, self._on_iopub,
                                                          self._throttle)))
        for channel, route in ((kc.shell_channel, self._on_shell),
                               (kc.stdin_channel, self._on_stdin)):
            self._tasks.append(asyncio.create_task(self._read(channel, route)))
        self._tasks.append(asyncio.create_task(self._watch()))

    def _write_spec(self) -> None:
        folder = self._spec_dir / "krunner"
        folder.mkdir(parents=True, exist_ok=True)
        # a kernel's own spec (IRkernel, IJulia) says where the connection file goes
        where = [] if any("{connection_file}" in a for a in self._argv) else [
            "-f", "{connection_file}"]
        spec = {"argv": [*self._argv, *where], "display_name": "krunner",
                "language": "python", "interrupt_mode": "signal"}
        (folder / "kernel.json").write_text(json.dumps(spec))

    async def shutdown(self) -> None:
        """Stop the readers and the kernel process."""
        for task in [*self._tasks, *self._answers]:
            task.cancel()
        self._tasks.clear()
        self._fail_requests("the kernel was shut down")
        if self._kc is not None:
            self._kc.stop_channels()
        await self._family.kill()  # the kernel and what its cells started, also outside its group
        if self._km is not None:
            with contextlib.suppress(TimeoutError, RuntimeError):
                await asyncio.wait_for(self._km.shutdown_kernel(now=True), 10)
        if self.pid is not None:
            subreaper.release(self.pid)
        self._km = self._kc = None

    async def restart(self) -> None:
        await self.shutdown()
        await self.start()

    async def interrupt(self) -> None:
        if self._km is not None:
            await self._km.interrupt_kernel()

    async def execute(self, code: str, on_output: OutputSink, on_input: InputSource
                      ) -> dict[str, Any]:
        """Run one cell to completion; the shell reply's content.

        Raises `KernelGoneBeforeRun` when the kernel is found dead before it began the cell
        (nothing ran), `KernelDied` when it died while running it.
        """
        if self._km is None or self._kc is None:
            raise KernelGoneBeforeRun("the Jupyter kernel is not running")
        if not await self._km.is_alive():
            await self._tell_death()  # before the watch does: the cell waits for the restart
            raise KernelGoneBeforeRun("the Jupyter kernel process had died")
        req = _Request(on_output, on_input, asyncio.get_running_loop().create_future())
        msg_id = self._kc.execute(code, allow_stdin=True, stop_on_error=False)
        self._requests[msg_id] = req
        try:
            reply = await req.reply
            await req.idle.wait()  # iopub may lag the shell reply; output must all be out
            return reply
        finally:
            self._requests.pop(msg_id, None)

    async def complete(self, code: str, cursor_pos: int | None = None) -> list[str]:
        assert self._kc is not None
        req = _Request(None, None, asyncio.get_running_loop().create_future())
        req.idle.set()
        msg_id = self._kc.complete(code, len(code) if cursor_pos is None else cursor_pos)
        self._requests[msg_id] = req
        try:
            reply = await req.reply
        finally:
            self._requests.pop(msg_id, None)
        # matches replace code[cursor_start:cursor_end]; give whole tokens, e.g. "os.path"
        start = int(reply.get("cursor_start", len(code)))
        prefix = re.search(r"[\w.]*$", code[:start])
        head = prefix.group(0) if prefix else ""
        return [head + str(m) for m in reply.get("matches", [])]

    async def _read(self, channel: Any, route: Callable[[dict[str, Any]], Any],
                    throttle: Callable[[], Awaitable[None]] | None = None) -> None:
        while True:
            msg = await channel.get_msg()
            result = route(msg)
            if throttle is not None:
                await throttle()  # a slow agent: let the kernel's own queue take the pressure
            if asyncio.iscoroutine(result):
                task = asyncio.create_task(result)
                self._answers.add(task)
                task.add_done_callback(self._answers.discard)

    def _request_of(self, msg: dict[str, Any]) -> _Request | None:
        return self._requests.get(msg.get("parent_header", {}).get("msg_id", ""))

    def _on_shell(self, msg: dict[str, Any]) -> None:
        req = self._request_of(msg)
        if req is not None and not req.reply.done():
            req.reply.set_result(msg["content"])

    def _on_iopub(self, msg: dict[str, Any]) -> None:
        req = self._request_of(msg)
        if req is None:
            return
        req.begun = True
        kind, content = msg["header"]["msg_type"], msg["content"]
        if kind == "status":
            if content.get("execution_state") == "idle":
                req.idle.set()
            return
        out = render_iopub(kind, content)
        if out is not None and req.on_output is not None:
            req.on_output(*out)

    async def _on_stdin(self, msg: dict[str, Any]) -> None:
        req = self._request_of(msg)
        if req is None or req.on_input is None or self._kc is None:
            return
        content = msg["content"]
        text = await req.on_input(content.get("prompt", ""), bool(content.get("password")))
        if self._kc is not None:
            self._kc.input(text)

    async def _watch(self) -> None:
        """Notice a dead kernel (killed, os._exit, out of memory) and fail what waits on it."""
        while self._km is not None and not self._death_told:
            await asyncio.sleep(WATCH_PERIOD)
            if self._km is not None and not await self._km.is_alive():
                await self._tell_death()

    async def _tell_death(self) -> None:
        """Fail what waits on the dead kernel and say so, once (the kernel machine restarts)."""
        if self._death_told or self._km is None:
            return
        self._death_told = True
        code = await _exit_code(self._km)
        reason = f"the Jupyter kernel process died (exit code {code})"
        self._fail_requests(reason)
        self._on_death(reason)

    def _fail_requests(self, reason: str) -> None:
        for req in self._requests.values():
            if not req.reply.done():
                died = KernelDied if req.begun else KernelGoneBeforeRun
                req.reply.set_exception(died(reason))
            req.idle.set()


async def _exit_code(km: AsyncKernelManager) -> int | None:
    provisioner = km.provisioner
    try:
        return await provisioner.poll() if provisioner is not None else None
    except Exception:  # the provisioner's own view of a dead process is best effort
        return None


def render_iopub(kind: str, content: dict[str, Any]) -> tuple[str, bytes] | None:
    """The agent-side message for one iopub message, or None for messages it has no use for."""
    if kind == "stream":
        return content.get("name", "stdout"), content.get("text", "").encode()
    if kind == "error":
        return "stderr", ("\n".join(content.get("traceback", [])) + "\n").encode()
    if kind in ("execute_result", "display_data"):
        return render_mime(content.get("data", {}))
    return None


def render_mime(data: dict[str, Any]) -> tuple[str, bytes] | None:
    """Richest displayable type: images and SVG as `media` JSON, HTML as `html`, text as stdout."""
    mime = next((m for m in MIME_ORDER if m in data), None)
    if mime is None:
        return None
    value = data[mime]
    if mime == "text/plain":
        return "stdout", str(value).encode()
    if mime == "text/html":
        return "html", str(value).encode()
    if mime == "image/svg+xml" or mime in PASSED_AS_IS:
        body = value
    else:
        raw = value if isinstance(value, str) else base64.b64encode(value).decode()
        body = f"data:{mime};base64,{raw.strip()}"
    return "media", json.dumps({"type": mime, "data": body}, ensure_ascii=True).encode()
