"""Language drivers: the interface, the Jupyter-backed ones (python, app), and the registry.

A driver owns its language's processes (the Jupyter kernel for python/app, a query's
temporary program elsewhere); the run queue asks it for commands and queries and never
touches those processes itself. The compiled and scripted languages live in
`runner/languages/`, one module per family.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.kernel_errors import InputSource, OutputSink

if TYPE_CHECKING:  # jupyter_client takes a tenth of a second to import: not before binding
    from runner.jupyter import JupyterKernel

BATCH_ENV = {"_BACKEND_BATCH_MODE": "1"}


@dataclass(frozen=True, slots=True)
class Step:
    """What a batch step resolves to: a command to run, or an immediate exit code + message."""

    command: str | list[str] | None = None
    exit_code: int = 0
    message: str = ""
    batch: bool = False  # child gets _BACKEND_BATCH_MODE=1 and the input() hook


class Driver:
    """Base driver: no query mode, shell commands only; `*` means nothing to do."""

    lang = "base"
    default_runtime = "/bin/sh"
    has_query = False

    def __init__(self, runtime_path: str | None, work_dir: Path) -> None:
        self.runtime = self.locate_runtime(runtime_path)
        self.work_dir = work_dir

    def locate_runtime(self, runtime_path: str | None) -> str:
        """The program this language runs on, from the agent's path or the default."""
        return resolve_runtime(runtime_path or self.default_runtime)

    def env(self) -> dict[str, str]:
        """Extra variables every child of this language gets."""
        return {}

    def attach(self, runner: Any) -> None:
        """Hook for drivers that need more of the runner (its config, `emit`) than `start`."""

    def on_transition(self, t: Any) -> None:
        """A move of a machine the driver's runtime owns (the git terminal's shell)."""

    def step(self, op: str, command: str) -> Step:
        """Resolve a clean/build/exec payload; `*` means the language's heuristic."""
        if not command.strip():
            return Step(exit_code=0)
        if command.strip() == "*":
            if op == "build" and (self.work_dir / "Makefile").is_file():
                return Step("make")
            return self.heuristic(op)
        return Step(command, batch=(op == "exec"))

    def heuristic(self, op: str) -> Step:
        return Step(exit_code=0)

    async def start(self, kernel_dir: Path, env: dict[str, str],
                    on_death: Callable[[str], None],
                    throttle: Callable[[], Awaitable[None]]) -> None:
        """Bring up what query mode needs."""

    async def query(self, code: str, on_output: OutputSink, on_input: InputSource) -> int:
        raise NotImplementedError("query mode is not available for this language")

    async def interrupt(self) -> None:
        """Interrupt a running query."""

    async def complete(self, code: str) -> list[str]:
        return []

    @property
    def kernel_pid(self) -> int | None:
        """The process behind query mode, if there is one."""
        return None

    async def restart(self) -> None:
        """Bring query mode back after its engine died."""

    async def shutdown(self) -> None:
        """Stop everything the driver started."""


class JupyterDriver(Driver):
    """Query mode through a real Jupyter kernel; without one (`kernel_argv` gives None), the
    next class in the MRO answers (a language's temporary-program query mode)."""

    has_query = True

    def __init__(self, runtime_path: str | None, work_dir: Path) -> None:
        super().__init__(runtime_path, work_dir)
        self.kernel: JupyterKernel | None = None

    async def kernel_argv(self, env: dict[str, str]) -> list[str] | None:
        """The kernel's command line: ipykernel on the runtime's Python (else the runner's)."""
        python = self.runtime if await has_ipykernel(self.runtime, env) else sys.executable
        # jedi makes the first completion take seconds, past what the agent waits for
        return [python, "-m", "ipykernel_launcher", "--IPCompleter.use_jedi=False"]

    async def after_start(self) -> None:
        """Settings the kernel needs before the first cell (run again after a restart)."""

    async def start(self, kernel_dir: Path, env: dict[str, str],
                    on_death: Callable[[str], None],
                    throttle: Callable[[], Awaitable[None]]) -> None:
        argv = await self.kernel_argv(env)
        if argv is None:
            await super().start(kernel_dir, env, on_death, throttle)
            return
        from runner.jupyter import JupyterKernel

        self.kernel = JupyterKernel(argv, env=env, cwd=self.work_dir, spec_dir=kernel_dir,
                                    on_death=on_death, throttle=throttle)
        await self.kernel.start()
        await self.after_start()

    async def query(self, code: str, on_output: OutputSink, on_input: InputSource) -> int:
        if self.kernel is None:
            return await super().query(code, on_output, on_input)
        reply = await self.kernel.execute(code, on_output, on_input)
        return query_exit_code(reply)

    async def interrupt(self) -> None:
        if self.kernel is None:
            await super().interrupt()
        else:
            await self.kernel.interrupt()

    async def complete(self, code: str) -> list[str]:
        if self.kernel is None:
            return await super().complete(code)
        return await self.kernel.complete(code)

    @property
    def kernel_pid(self) -> int | None:
        return self.kernel.pid if self.kernel is not None else None

    async def restart(self) -> None:
        if self.kernel is not None:
            await self.kernel.restart()
            await self.after_start()

    async def shutdown(self) -> None:
        if self.kernel is not None:
            await self.kernel.shutdown()
        await super().shutdown()


class PythonDriver(JupyterDriver):
    lang = "python"
    default_runtime = "/usr/bin/python"

    def heuristic(self, op: str) -> Step:
        if op == "build":
            if (self.work_dir / "setup.py").is_file():
                return Step([self.runtime, "-m", "pip", "install", "--user", "-e", "."])
            return Step(exit_code=0)
        if op == "exec":
            if (self.work_dir / "main.py").is_file():
                return Step([self.runtime, "main.py"], batch=True)
            return Step(exit_code=127, message="main.py not found: nothing to execute\n")
        return Step(exit_code=0)


class AppDriver(JupyterDriver):
    lang = "app"
    default_runtime = "/opt/backend.ai/bin/python"

    def heuristic(self, op: str) -> Step:
        if op == "clean":
            return Step(exit_code=0)
        return Step(exit_code=0, message="batch-mode execution is not supported\n")


DRIVERS: dict[str, type[Driver]] = {"python": PythonDriver, "app": AppDriver}


def driver_for(lang: str, runtime_path: str | None, work_dir: Path) -> Driver:
    """The driver of a runtime type; unknown types run shell commands only."""
    from runner.languages import LANGUAGES  # they import this module's interface

    return {**DRIVERS, **LANGUAGES}.get(lang, Driver)(runtime_path, work_dir)


def resolve_runtime(path: str) -> str:
    """The runtime if it exists, else the same program from PATH, else this Python for Pythons."""
    if os.access(path, os.X_OK):
        return path
    found = shutil.which(Path(path).name)
    if found:
        return found
    return sys.executable if "python" in Path(path).name else path


# Finding the package, not importing it: an import costs the first query 0.4-0.7 s.
FINDS_IPYKERNEL = ("import importlib.util, sys; "
                   "sys.exit(importlib.util.find_spec('ipykernel') is None)")


async def has_ipykernel(python: str, env: dict[str, str]) -> bool:
    """Whether the runtime can host the kernel itself (else the runner's own Python does)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            python, "-c", FINDS_IPYKERNEL, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    except OSError:
        return False
    return await proc.wait() == 0


def query_exit_code(reply: dict[str, object]) -> int:
    """0 for a clean cell, the code of a SystemExit, 1 for any other error."""
    if reply.get("status") == "ok":
        return 0
    if reply.get("ename") == "SystemExit":
        try:
            return int(str(reply.get("evalue", "1")))
        except ValueError:
            return 1
    return 1
