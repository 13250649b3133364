"""Finding a language's programs: the agent's runtime path, else usual places, else PATH.

Nothing here looks at HOME or rustup shims: usual system locations come before PATH, so a
runner started with a moved HOME or a rustup-first PATH still finds Debian's toolchains.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from glob import glob
from pathlib import Path

USUAL_DIRS = ("/usr/bin", "/usr/local/bin", "/bin")


class ToolchainMissing(RuntimeError):
    """A program the language needs is not on this machine; the op ends with exit code 127."""

    exit_code = 127  # "not found" (PROTOCOL §3)

    def __init__(self, lang: str, what: str, looked: Sequence[str]) -> None:
        self.lang, self.what, self.looked = lang, what, list(looked)
        where = ", ".join(self.looked) if self.looked else "PATH"
        super().__init__(f"the {lang} runtime needs {what}, which is not installed "
                         f"(looked in {where} and PATH)")


@dataclass(frozen=True, slots=True)
class Tool:
    """One program a language needs: its names, in order of preference, and where it lives."""

    what: str  # e.g. "a C compiler (gcc, cc or clang)"
    names: tuple[str, ...]
    places: tuple[str, ...] = ()  # extra globs tried first, e.g. /usr/lib/jvm/*/bin/java

    def candidates(self) -> list[str]:
        found = [p for pattern in self.places for p in sorted(glob(pattern), reverse=True)]
        return [*found, *(f"{d}/{n}" for n in self.names for d in USUAL_DIRS)]

    def locate(self, beside: str | None = None) -> str | None:
        """The program: next to `beside` (the runtime's folder) first, then usual places."""
        near = [str(Path(beside).parent / n) for n in self.names] if beside else []
        for path in [*near, *self.candidates()]:
            if os.access(path, os.X_OK) and not os.path.isdir(path):
                return path
        return next((p for n in self.names if (p := shutil.which(n))), None)


def agent_path(path: str | None, tool: Tool) -> str | None:
    """The runtime path the agent passed, if it is this tool (a folder: its `bin/`).

    A path naming another program (the original's defaults sent `rustc` for scheme and the
    launcher's Python for everything) is not used: the usual places are searched instead.
    """
    if not path:
        return None
    if os.path.isdir(path):
        inside = [f"{path}/bin/{n}" for n in tool.names] + [f"{path}/{n}" for n in tool.names]
        return next((p for p in inside if os.access(p, os.X_OK)), None)
    if os.access(path, os.X_OK) and _is_named(Path(path).name, tool.names):
        return path
    return None


def _is_named(base: str, names: Sequence[str]) -> bool:
    """`gcc`, `gcc-12`, `lua5.4`, `python3.11` are their tool; `rustc` is not `scheme`."""
    return any(base == n or re.fullmatch(re.escape(n) + r"[-.]?[0-9.]+", base) for n in names)
