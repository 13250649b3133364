"""Go: `go build` of the module (or of the top folder's files; no stray empty argument as in
the original, whose batch build always failed), `./main`, and `go run` for a query."""

from __future__ import annotations

from runner.drivers import Step
from runner.languages.program import ProgramDriver, missing
from runner.languages.toolchain import Tool


class GoDriver(ProgramDriver):
    lang = "golang"
    tool = Tool("the Go toolchain (go)", ("go",),
                places=("/usr/local/go/bin/go", "/usr/lib/go/bin/go"))
    suffix = ".go"

    def build(self) -> Step:
        if (self.work_dir / "go.mod").is_file():
            return Step([self.runtime, "build", "-o", "main", "."])
        if not (self.work_dir / "main.go").is_file():
            return missing("main.go", "build")
        files = sorted(p.name for p in self.work_dir.glob("*.go")
                       if not p.name.endswith("_test.go"))
        return Step([self.runtime, "build", "-o", "main", *files])

    def execute(self) -> Step:
        return self.run_built()

    def cell_runner(self) -> list[str]:
        return [self.need(), "run"]
