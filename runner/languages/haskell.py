"""Haskell with GHC 9: `ghc --make -o main main.hs` (imported modules found from the work
folder; the original's `ghc --make main …` fails on GHC 9), `./main`, `runghc` for a query."""

from __future__ import annotations

from runner.drivers import Step
from runner.languages.program import ProgramDriver, missing
from runner.languages.toolchain import Tool

RUNGHC = Tool("runghc (GHC)", ("runghc", "runhaskell"))


class HaskellDriver(ProgramDriver):
    lang = "haskell"
    tool = Tool("the Haskell compiler ghc", ("ghc",))
    suffix = ".hs"

    def build(self) -> Step:
        if not (self.work_dir / "main.hs").is_file():
            return missing("main.hs", "build")
        return Step([self.runtime, "--make", "-o", "main", "main.hs"])

    def execute(self) -> Step:
        return self.run_built()

    def cell_runner(self) -> list[str]:
        return [self.need(RUNGHC)]
