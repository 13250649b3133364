"""The shared base of the compiled and scripted languages.

Batch: `*` resolves per language (`clean`/`build`/`execute` below; a `Makefile` wins for
build, as in the original). Query: each cell becomes a temporary program in a runner-owned
folder (never the user's home), compiled if needed and run in the user's work folder as a
process group of its own, with its stdin watched for reads like a batch program.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from runner.drivers import Driver, Step
from runner.kernel_errors import InputSource, OutputSink
from runner.languages.toolchain import Tool, ToolchainMissing, agent_path
from runner.process import GroupProcess

SKIP_DIRS = {".git", "node_modules", "target", "__pycache__"}


class ProgramDriver(Driver):
    """A language whose code runs as a program; subclasses say which commands."""

    tool: Tool  # the runtime: compiler or interpreter
    suffix = ""  # of source files and of a query's temporary file
    has_query = True

    def __init__(self, runtime_path: str | None, work_dir: Path) -> None:
        super().__init__(runtime_path, work_dir)
        self._env: dict[str, str] = {}
        self._cells: Path | None = None
        self._throttle: Callable[[], Awaitable[None]] | None = None
        self._current: GroupProcess | None = None
        self._interrupted = False

    def locate_runtime(self, runtime_path: str | None) -> str:
        return agent_path(runtime_path, self.tool) or self.tool.locate() or ""

    def need(self, tool: Tool | None = None) -> str:
        """The path of the runtime (or of a tool that lives beside it), or ToolchainMissing."""
        path = self.runtime if tool is None else tool.locate(beside=self.runtime or None)
        if not path:
            wanted = tool or self.tool
            raise ToolchainMissing(self.lang, wanted.what, wanted.candidates()[:4])
        return path

    # --- batch ----------------------------------------------------------------------------
    def heuristic(self, op: str) -> Step:
        self.need()  # `*` means this language: without its runtime every step says so
        if op == "clean":
            return self.clean()
        if op == "build":
            return self.build()
        return self.execute()

    def clean(self) -> Step:
        return Step(exit_code=0)

    def build(self) -> Step:
        return Step(exit_code=0)

    def execute(self) -> Step:
        return self.run_main(f"main{self.suffix}", [self.runtime])

    def run_built(self, program: str = "main") -> Step:
        """Run the program the build made in the work folder."""
        if (self.work_dir / program).is_file():
            return Step([f"./{program}"], batch=True)
        return missing(f"./{program}", "execute")

    def run_main(self, main: str, argv: list[str]) -> Step:
        """Run `main` with `argv` if it exists, else say it is missing (exit 127)."""
        if not (self.work_dir / main).is_file():
            return missing(main, "execute")
        return Step([*argv, main], batch=True)

    def sources(self, suffix: str | None = None) -> list[str]:
        """Source files under the work folder, relative and sorted (hidden/build dirs out)."""
        found = []
        for path in self.work_dir.rglob(f"*{suffix or self.suffix}"):
            parts = path.relative_to(self.work_dir).parts
            if path.is_file() and not any(p.startswith(".") or p in SKIP_DIRS
                                          for p in parts[:-1]):
                found.append(str(path.relative_to(self.work_dir)))
        return sorted(found)

    # --- query ----------------------------------------------------------------------------
    def cell_commands(self, code: str, cell: Path) -> list[list[str]]:
        """Write the cell's program into `cell`; the commands that compile and run it."""
        source = cell / f"main{self.suffix}"
        source.write_text(code)
        return [[*self.cell_runner(), str(source)]]

    def cell_runner(self) -> list[str]:
        """The command a query's source file is given to."""
        return [self.need()]

    async def start(self, kernel_dir: Path, env: dict[str, str],
                    on_death: Callable[[str], None],
                    throttle: Callable[[], Awaitable[None]]) -> None:
        self._env, self._throttle = env, throttle
        self._cells = kernel_dir / f"{self.lang}-cells"
        self._cells.mkdir(parents=True, exist_ok=True)

    async def query(self, code: str, on_output: OutputSink, on_input: InputSource) -> int:
        assert self._cells is not None, "start() first"
        cell = Path(tempfile.mkdtemp(prefix="cell-", dir=self._cells))
        self._interrupted = False
        try:
            for argv in self.cell_commands(code, cell):
                status = await self._run(argv, on_output, on_input)
                if status != 0 or self._interrupted:
                    return status
            return 0
        finally:
            shutil.rmtree(cell, ignore_errors=True)

    async def _run(self, argv: list[str], on_output: OutputSink, on_input: InputSource
                   ) -> int:
        assert self._throttle is not None
        self._current = await GroupProcess.start(argv, cwd=self.work_dir, env=self._env)
        try:
            return await self._current.pump(on_output, self._throttle,
                                            ask=lambda password: on_input("", password))
        finally:
            self._current = None

    async def interrupt(self) -> None:
        self._interrupted = True
        if self._current is not None:
            await self._current.interrupt()

    async def shutdown(self) -> None:
        if self._current is not None:
            await self._current.stop()
        if self._cells is not None:
            shutil.rmtree(self._cells, ignore_errors=True)


def missing(name: str, what: str) -> Step:
    return Step(exit_code=127, message=f"{name} not found: nothing to {what}\n")


def line_buffered(argv: list[str]) -> list[str]:
    """C stdio programs flush a prompt before reading stdin (glibc does it when stdout is
    line-buffered and stdin unbuffered); `stdbuf` sets that up, where it exists."""
    stdbuf = shutil.which("stdbuf") or ""
    return [stdbuf, "-i0", "-oL", *argv] if stdbuf else argv
