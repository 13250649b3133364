"""MIT/GNU Scheme: a program is loaded by a small driver file that ends Scheme with exit code 1
and the error's message on any error (the original's REPL waited for input instead)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from runner.drivers import Step
from runner.languages.program import ProgramDriver, missing
from runner.languages.toolchain import Tool

LOADER = """(call-with-current-continuation
  (lambda (k)
    (with-exception-handler
      (lambda (e)
        (fresh-line)
        (write-string ";")
        (write-string (if (condition? e) (condition/report-string e)
                          (call-with-output-string (lambda (p) (write e p)))))
        (newline)
        (exit 1))
      (lambda () (load {path})))))
(exit 0)
"""


def loader_source(program: str) -> str:
    quoted = '"' + program.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return LOADER.replace("{path}", quoted)


class SchemeDriver(ProgramDriver):
    lang = "scheme"
    tool = Tool("MIT/GNU Scheme (mit-scheme)", ("mit-scheme", "scheme"))
    suffix = ".scm"

    async def start(self, kernel_dir: Path, env: dict[str, str],
                    on_death: Callable[[str], None],
                    throttle: Callable[[], Awaitable[None]]) -> None:
        await super().start(kernel_dir, env, on_death, throttle)
        self._loader = kernel_dir / "scheme-main-loader.scm"
        self._loader.write_text(loader_source("main.scm"))  # relative to the work folder

    def execute(self) -> Step:
        if not (self.work_dir / "main.scm").is_file():
            return missing("main.scm", "execute")
        # --load, not --eval: Scheme reads its console before evaluating an --eval
        return Step([self.runtime, "--quiet", "--no-init-file", "--load", str(self._loader)],
                    batch=True)

    def cell_commands(self, code: str, cell: Path) -> list[list[str]]:
        source, loader = cell / "main.scm", cell / "loader.scm"
        source.write_text(code)
        loader.write_text(loader_source(str(source)))
        return [[self.need(), "--quiet", "--no-init-file", "--load", str(loader)]]
