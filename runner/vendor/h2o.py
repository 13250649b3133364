"""`vendor.h2o`: Python query and batch modes on the H2O Driverless AI image's own Python.

The runtime path (default `/opt/h2oai/dai/python/bin/python`) is the Python everything runs
on: the Jupyter kernel (it must have ipykernel), `*` builds (`pip install --user -e .`) and
`*` execs (`main.py`). Unlike the plain python runtime it never falls back to another
Python, whose packages would not be H2O's: without the runtime, queries and `*` steps say
which Python is missing (exit 127). As the original did, `run-dai.sh` of the DAI folder
(`<runtime>/../../run-dai.sh`) is run once at start to daemonize H2O, if it is there.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runner.drivers import PythonDriver, Step, has_ipykernel
from transcripts.events import KERNEL, OBSERVATION, stamped

log = logging.getLogger("krunner")
DAEMON_WAIT = 120.0  # run-dai.sh daemonizes; past this it is left running, not awaited


class H2oDriver(PythonDriver):
    """The python driver, pinned to H2O's Python and starting the DAI daemon first."""

    lang = "vendor.h2o"
    default_runtime = "/opt/h2oai/dai/python/bin/python"

    def __init__(self, runtime_path: str | None, work_dir: Path) -> None:
        super().__init__(runtime_path, work_dir)
        self.runtime = runtime_path or self.default_runtime  # never another Python
        self._emit: Callable[[Any], None] = lambda event: None

    def attach(self, runner: Any) -> None:
        self._emit = runner.emit

    def missing(self) -> str | None:
        if os.access(self.runtime, os.X_OK):
            return None
        return (f"vendor.h2o runs on H2O's own Python, {self.runtime}, which is not there "
                "(give its path as the runtime path)")

    def heuristic(self, op: str) -> Step:
        problem = self.missing() if op != "clean" else None
        if problem is not None:
            return Step(exit_code=127, message=problem + "\n")
        return super().heuristic(op)

    async def start(self, kernel_dir: Path, env: dict[str, str],
                    on_death: Callable[[str], None],
                    throttle: Callable[[], Awaitable[None]]) -> None:
        problem = self.missing()
        if problem is None and not await has_ipykernel(self.runtime, env):
            problem = (f"H2O's Python {self.runtime} has no ipykernel for query mode "
                       f"(install it there: {self.runtime} -m pip install ipykernel)")
        if problem is not None:
            self._emit(stamped(KERNEL, OBSERVATION, "RuntimeMissing",
                               {"lang": self.lang, "missing": self.runtime,
                                "reason": problem}))
            raise RuntimeError(problem)
        await self._start_daemon(env)
        await super().start(kernel_dir, env, on_death, throttle)

    async def _start_daemon(self, env: dict[str, str]) -> None:
        parents = Path(self.runtime).parents
        script = parents[2] / "run-dai.sh" if len(parents) > 2 else None
        if script is None or not os.access(script, os.X_OK):
            return
        log.info("daemonizing H2O (%s)", script)
        proc = await asyncio.create_subprocess_exec(
            str(script), cwd=self.work_dir, env=env, stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True)
        try:
            code: int | None = await asyncio.wait_for(proc.wait(), DAEMON_WAIT)
        except TimeoutError:
            code = None
            log.warning("%s still runs after %.0f s; going on", script, DAEMON_WAIT)
        self._emit(stamped(KERNEL, OBSERVATION, "H2oDaemonStarted",
                           {"script": str(script), "exit_code": code}))
