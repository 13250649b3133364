"""Checks of what `docs/design.md` claims about the code, one function per claim.

Each function reads Python source (never imports it) and returns what breaks the claim, so
`tests/test_golden.py` can run it on the project and on a made-up offender alike. Nothing
here may judge by module names alone: every finding points at a line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CLOCKS = {("time", name) for name in ("time", "monotonic", "perf_counter", "time_ns",
                                      "monotonic_ns", "perf_counter_ns", "process_time")}
CLOCKS |= {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
           ("date", "today")}
# what a pure machine has no use for: clocks, I/O, processes, threads, an event loop
IMPURE_MODULES = {"time", "datetime", "asyncio", "socket", "subprocess", "threading",
                  "sqlite3", "os", "io", "pathlib", "shutil", "select", "signal"}
IMPURE_BUILTINS = {"open", "print", "input"}
PROHIBITION = re.compile(r"\bmust not\b|\bnever\b", re.IGNORECASE)


def modules(package: str) -> Iterator[tuple[str, str]]:
    """(dotted name, source) of every module of a top-level package."""
    for path in sorted((ROOT / package).rglob("*.py")):
        yield ".".join(path.relative_to(ROOT).with_suffix("").parts), path.read_text()


def clock_reads(source: str) -> list[str]:
    """Every read of a clock (`time.monotonic()`, `datetime.now()`, an imported `time`, ...)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and (node.value.id, node.attr) in CLOCKS:
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                if (node.module, alias.name) in CLOCKS:
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
    return found


def impure_uses(source: str) -> list[str]:
    """Imports of clock, I/O, process or event-loop modules; calls of open/print/input."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found += [f"line {node.lineno}: imports {name}" for name in names
                  if name.split(".")[0] in IMPURE_MODULES]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in IMPURE_BUILTINS:
            found.append(f"line {node.lineno}: calls {node.func.id}()")
    return found + clock_reads(source)


def says_what_it_must_not_do(source: str) -> bool:
    """Whether the module's docstring says what it must not do ("must not" or "never")."""
    doc = ast.get_docstring(ast.parse(source))
    return bool(doc and PROHIBITION.search(doc))


def fires(source: str) -> list[str]:
    """Every call of a `fire` method: a machine moved other than by an event."""
    return [f"line {node.lineno}: .fire()" for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "fire"]
