"""The `git` runtime: a terminal (runner/terminal.py) plus the `%` commands sent as queries.

`%ping`, `%resize ROWS COLS` and `%show graph PATH` answer as the original did (PROTOCOL §8),
but through the run queue, so each query gets exactly one `finished` (the original sent a
second, `{}`, that finished the agent's next run), and a bad command is an error message
with exit code 2 instead of argparse ending the runner. Commands are split as a shell would
(quotes, backslashes, comments); a path with spaces may also be given unquoted.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from machines.base import Transitioned
from machines.events import TERMINAL
from runner.drivers import Driver, Step
from runner.gitgraph import MEDIA_TYPE, GitFailed, GitRunner, commit_graph, repository_folder
from runner.kernel_errors import InputSource, OutputSink
from runner.terminal import Emit, State, Terminal

USAGE = "usage: %ping | %resize ROWS COLS | %show graph [PATH]\n"
NOT_A_COMMAND = "Invalid command.\n"  # the original's answer to anything without `%`


class TerminalConfig(Protocol):
    terminal_in_port: int
    terminal_out_port: int
    bind_host: str


class MachineStates(Protocol):
    def state(self, source: str) -> str | None: ...


class RunnerHost(Protocol):
    config: TerminalConfig
    machines: MachineStates

    def emit(self, event: Any) -> None: ...


class UsageError(ValueError):
    """A `%` command the terminal does not understand."""


class TerminalDriver(Driver):
    """The user's shell on a pty; queries are `%` commands about that terminal."""

    lang = "git"
    default_runtime = "/bin/bash"
    has_query = True

    def __init__(self, runtime_path: str | None, work_dir: Path) -> None:
        super().__init__(None, work_dir)  # as in the original, the runtime path plays no part
        self._ports = (2002, 2003)
        self._host = "*"
        self._emit: Emit = lambda event: None
        self._state: State = lambda: None
        self.terminal: Terminal | None = None
        self._git: GitRunner | None = None

    def attach(self, runner: RunnerHost) -> None:
        self._ports = (runner.config.terminal_in_port, runner.config.terminal_out_port)
        self._host = runner.config.bind_host
        self._emit = runner.emit
        machines = runner.machines
        self._state = lambda: machines.state(TERMINAL)

    def heuristic(self, op: str) -> Step:
        if op == "clean":
            return Step(exit_code=0)
        return Step(exit_code=127, message=f"the git terminal has no `*` for {op}: "
                                           "give the command to run\n")

    def shell_argv(self, env: dict[str, str]) -> list[str]:
        """The user's $SHELL, else bash, else sh."""
        for shell in (env.get("SHELL"), self.runtime):
            if shell and os.access(shell, os.X_OK):
                return [shell]
        return ["/bin/sh"]

    async def start(self, kernel_dir: Path, env: dict[str, str],
                    on_death: Callable[[str], None],
                    throttle: Callable[[], Awaitable[None]]) -> None:
        self._git = GitRunner(env)
        self.terminal = Terminal(self.shell_argv(env), env=env, cwd=self.work_dir,
                                 emit=self._emit, state=self._state, ports=self._ports,
                                 host=self._host)
        await self.terminal.start()

    def on_transition(self, t: Transitioned) -> None:
        """The terminal machine moved (core routes its moves here)."""
        if self.terminal is not None:
            self.terminal.on_transition(t)

    async def query(self, code: str, on_output: OutputSink, on_input: InputSource) -> int:
        text = code.strip()
        if not text.startswith("%"):
            on_output("stderr", NOT_A_COMMAND.encode())
            return 127
        try:
            words = shlex.split(text[1:], comments=True)
            return await self._command(words, on_output)
        except (UsageError, ValueError) as e:
            on_output("stderr", f"{e}\n{USAGE}".encode() if str(e) else USAGE.encode())
            return 2
        except GitFailed as e:
            on_output("stderr", f"{e}\n".encode())
            return e.exit_code
        except OSError as e:  # e.g. git could not be started: the query says so and ends
            on_output("stderr", f"%{text[1:40]}: {e.strerror or e}\n".encode())
            return 1

    async def _command(self, words: list[str], on_output: OutputSink) -> int:
        match words:
            case ["ping"]:
                on_output("stdout", b"pong!")
            case ["resize", rows, cols]:
                got = self._resize(rows, cols)
                on_output("stdout", f"OK; terminal resized to {got[0]} lines and {got[1]} "
                                    "columns".encode())
            case ["show", "graph", *where]:
                graph = await commit_graph(self._git_runner(), self._repo(where))
                media = {"type": MEDIA_TYPE, "data": graph}
                on_output("media", json.dumps(media).encode())
            case _:
                raise UsageError(f"unknown terminal command: %{shlex.join(words)}")
        return 0

    def _resize(self, rows: str, cols: str) -> tuple[int, int]:
        if not (rows.isdigit() and cols.isdigit()) or not (
                0 < int(rows) < 65536 and 0 < int(cols) < 65536):
            raise UsageError(f"rows and columns must be positive integers: {rows} {cols}")
        if self.terminal is None:
            raise UsageError("the terminal is not running")
        return self.terminal.resize(int(rows), int(cols))

    def _repo(self, where: list[str]) -> Path:
        """PATH as the user means it: relative to the shell's current folder. Several words
        are one unquoted path with spaces, if such a folder exists."""
        shell = self.terminal.shell if self.terminal is not None else None
        base = (shell.cwd() if shell is not None else None) or self.work_dir
        if len(where) <= 1:
            return repository_folder(base, where[0] if where else ".")
        try:
            return repository_folder(base, " ".join(where))
        except GitFailed as e:
            raise UsageError(f"%show graph takes one PATH ({e}); quote a path with spaces: "
                             f"%show graph \"my repo\"") from e

    def _git_runner(self) -> GitRunner:
        if self._git is None:
            self._git = GitRunner(dict(os.environ))
        return self._git

    async def interrupt(self) -> None:
        if self._git is not None:
            self._git.stop()

    @property
    def kernel_pid(self) -> int | None:
        shell = self.terminal.shell if self.terminal is not None else None
        return shell.proc.pid if shell is not None else None

    async def shutdown(self) -> None:
        if self._git is not None:
            self._git.stop()
        if self.terminal is not None:
            await self.terminal.shutdown()
