"""Java: `javac` over every source (each its own argument, no JDK-8-only flags), `java Main`,
and a query run by the JDK's single-file source launcher (`java Main.java`, JDK 11+)."""

from __future__ import annotations

import re
from pathlib import Path

from runner.drivers import Step
from runner.languages.program import ProgramDriver, missing
from runner.languages.toolchain import Tool

JAVAC = Tool("the Java compiler javac (a JDK)", ("javac",))
PUBLIC_CLASS = re.compile(r"public\s+(?:final\s+|abstract\s+)*class\s+(\w+)")


class JavaDriver(ProgramDriver):
    lang = "java"
    tool = Tool("a Java runtime (java)", ("java",),
                places=("/usr/lib/jvm/default-java/bin/java",))
    suffix = ".java"

    def build(self) -> Step:
        sources = self.sources()
        if not sources:
            return missing("*.java", "build")
        return Step([self.need(JAVAC), "-d", ".", *sources])

    def execute(self) -> Step:
        for class_file, name in (("main/Main.class", "main.Main"), ("Main.class", "Main")):
            if (self.work_dir / class_file).is_file():
                return Step([self.runtime, "-cp", ".", name], batch=True)
        return missing("Main.class", "execute")

    def cell_commands(self, code: str, cell: Path) -> list[list[str]]:
        found = PUBLIC_CLASS.search(code)
        source = cell / f"{found.group(1) if found else 'Main'}.java"
        source.write_text(code)
        return [[self.need(), "-cp", str(self.work_dir), str(source)]]
