"""Rust on the system's rustc/cargo (found in /usr/bin before any rustup shim on PATH, so a
moved HOME does not matter); cargo is told which rustc to use."""

from __future__ import annotations

import os
from pathlib import Path

from runner.drivers import Step
from runner.languages.program import ProgramDriver, missing
from runner.languages.toolchain import Tool

CARGO = Tool("cargo", ("cargo",))


class RustDriver(ProgramDriver):
    lang = "rust"
    tool = Tool("the Rust compiler rustc", ("rustc",))
    suffix = ".rs"

    def env(self) -> dict[str, str]:
        return {"RUSTC": self.runtime} if self.runtime else {}

    def build(self) -> Step:
        if (self.work_dir / "Cargo.toml").is_file():
            return Step([self.need(CARGO), "build"])
        if (self.work_dir / "main.rs").is_file():
            return Step([self.runtime, "-o", "main", "main.rs"])
        return missing("Cargo.toml or main.rs", "build")

    def execute(self) -> Step:
        for folder in ("target/debug", "target/release"):
            place = self.work_dir / folder
            programs = sorted(p for p in place.iterdir() if p.is_file()
                              and os.access(p, os.X_OK)) if place.is_dir() else []
            if programs:
                return Step([str(programs[0])], batch=True)
        if (self.work_dir / "main").is_file():
            return Step(["./main"], batch=True)
        return missing("a program in target/ or ./main", "execute")

    def cell_commands(self, code: str, cell: Path) -> list[list[str]]:
        source, program = cell / "main.rs", cell / "main"
        source.write_text(code)
        return [[self.need(), "-o", str(program), str(source)], [str(program)]]
