"""Languages whose query mode is a Jupyter kernel when one is installed (IRkernel for `r`,
IJulia for `julia`), and a temporary program otherwise; batch as any program language."""

from __future__ import annotations

import json
import os
from pathlib import Path

from runner.drivers import JupyterDriver
from runner.languages.program import ProgramDriver

KERNEL_DIRS = ("/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels",
               "/opt/conda/share/jupyter/kernels")


def installed_kernel(prefix: str, home: str | None) -> list[str] | None:
    """The command line of the first installed kernelspec whose name starts with `prefix`."""
    dirs = [*((f"{home}/.local/share/jupyter/kernels",) if home else ()), *KERNEL_DIRS]
    for folder in map(Path, dirs):
        if not folder.is_dir():
            continue
        for spec in sorted(folder.iterdir()):
            if spec.name.startswith(prefix) and (spec / "kernel.json").is_file():
                try:
                    argv = json.loads((spec / "kernel.json").read_text())["argv"]
                except (OSError, ValueError, KeyError):
                    continue
                if isinstance(argv, list) and argv:
                    return [str(a) for a in argv]
    return None


class KernelOrProgramDriver(JupyterDriver, ProgramDriver):
    """Query through the language's Jupyter kernel if installed, else as a program."""

    kernel_prefix = ""  # kernelspec name, e.g. "ir" or "julia"

    async def kernel_argv(self, env: dict[str, str]) -> list[str] | None:
        argv = installed_kernel(self.kernel_prefix, env.get("HOME"))
        if argv is None or not self.runtime:
            return None
        if os.path.basename(argv[0]) == os.path.basename(self.runtime):
            argv[0] = self.runtime  # the runtime this runner was given, not PATH's
        return argv
