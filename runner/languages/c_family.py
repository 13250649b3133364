"""C and C++: one compiler call over every source, `./main`, and a query compiled as a program.

C is compiled as C (`-x c`) even when the runtime path names g++ (the original's default,
which compiled C as C++).
"""

from __future__ import annotations

from pathlib import Path

from runner.drivers import Step
from runner.languages.program import ProgramDriver, line_buffered, missing
from runner.languages.toolchain import Tool

LIBS = ["-lm", "-lpthread", "-ldl"]


class CDriver(ProgramDriver):
    lang = "c"
    tool = Tool("a C compiler (gcc, cc or clang)", ("gcc", "cc", "clang"))
    suffix = ".c"
    language = "c"

    def clean(self) -> Step:
        if (self.work_dir / "Makefile").is_file():
            return Step("make clean")
        return Step(exit_code=0)

    def build(self) -> Step:
        if not (self.work_dir / f"main{self.suffix}").is_file():
            return missing(f"main{self.suffix}", "build")
        return Step(self.compile(self.sources(), "./main"))

    def compile(self, sources: list[str], output: str) -> list[str]:
        return [self.runtime, "-x", self.language, *sources, "-x", "none", "-Wall",
                "-o", output, *LIBS]

    def execute(self) -> Step:
        for program in ("main", "a.out"):
            if (self.work_dir / program).is_file():
                return Step(line_buffered([f"./{program}"]), batch=True)
        return missing("./main", "execute")

    def cell_commands(self, code: str, cell: Path) -> list[list[str]]:
        source, program = cell / f"main{self.suffix}", cell / "main"
        source.write_text(code)
        return [self.compile([str(source)], str(program)), line_buffered([str(program)])]


class CppDriver(CDriver):
    lang = "cpp"
    tool = Tool("a C++ compiler (g++, c++ or clang++)", ("g++", "c++", "clang++"))
    suffix = ".cpp"
    language = "c++"
