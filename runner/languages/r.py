"""R: `Rscript main.R` (exit code 1 after an error), IRkernel for queries (state kept between
cells, real completion), plain-text results instead of the HTML the agent cannot show."""

from __future__ import annotations

from runner.drivers import Step
from runner.languages.kernels import KernelOrProgramDriver
from runner.languages.toolchain import Tool

RSCRIPT = Tool("Rscript (R)", ("Rscript",))
# IRkernel sends every repr it can (HTML, LaTeX, markdown…); the agent shows text and images
PLAIN_RESULTS = ('options(jupyter.display_mimetypes = c("text/plain", "image/png", '
                 '"image/jpeg", "image/svg+xml"))')


class RDriver(KernelOrProgramDriver):
    lang = "r"
    tool = Tool("R", ("R",))
    suffix = ".R"
    kernel_prefix = "ir"

    def execute(self) -> Step:
        main = "main.R" if (self.work_dir / "main.R").is_file() else "main.r"
        return self.run_main(main, [self.need(RSCRIPT)])

    async def after_start(self) -> None:
        assert self.kernel is not None
        await self.kernel.execute(PLAIN_RESULTS, lambda kind, data: None, _no_input)

    def cell_runner(self) -> list[str]:
        return [self.need(RSCRIPT)]


async def _no_input(prompt: str, is_password: bool) -> str:
    return ""
