"""Interpreted languages run as `<runtime> main.<ext>` (batch) or on the cell's file (query):
Node.js, Lua, PHP and Octave."""

from __future__ import annotations

from pathlib import Path

from runner.drivers import Step
from runner.languages.program import ProgramDriver, line_buffered
from runner.languages.toolchain import Tool


class NodeDriver(ProgramDriver):
    lang = "nodejs"
    tool = Tool("Node.js (node)", ("node", "nodejs"))
    suffix = ".js"


class LuaDriver(ProgramDriver):
    """Lua writes through C stdio: line-buffered like C so a prompt shows before a read."""

    lang = "lua"
    tool = Tool("a Lua interpreter (lua)", ("lua", "lua5.4", "lua5.3", "luajit"))
    suffix = ".lua"

    def execute(self) -> Step:
        step = super().execute()
        return Step(line_buffered(step.command), batch=True) if isinstance(
            step.command, list) else step

    def cell_runner(self) -> list[str]:
        return line_buffered([self.need()])


class PhpDriver(ProgramDriver):
    lang = "php"
    tool = Tool("the PHP command-line interpreter (php)", ("php",))
    suffix = ".php"

    def cell_commands(self, code: str, cell: Path) -> list[list[str]]:
        # a cell is PHP code; one that opens its own `<?php` tag keeps it (the original
        # added a second one, which PHP printed as text)
        opened = code.lstrip().startswith("<?")
        return super().cell_commands(code if opened else f"<?php\n{code}", cell)


class OctaveDriver(ProgramDriver):
    lang = "octave"
    tool = Tool("GNU Octave (octave-cli)", ("octave-cli", "octave"))
    suffix = ".m"

    def execute(self) -> Step:  # the original looked for main.js here
        return self.run_main("main.m", [self.runtime, *OCTAVE_FLAGS])

    def cell_runner(self) -> list[str]:
        return [self.need(), *OCTAVE_FLAGS]


OCTAVE_FLAGS = ["--quiet", "--no-gui"]
