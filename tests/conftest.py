"""A factory that starts real runner processes on free ports, each with its own log and folders.

On CI (`CI=true`) a skipped test fails: a test skips only when this machine lacks a tool, and
CI must have every tool (`tools/toolchains.py`, the `[test]` extras), so a skip there would
hide a test that never ran. The hooks below must never turn a failure into anything else.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from tools.launch import RunnerProcess, start_runner
from tools.ports import free_port

__all__ = ["RunnerProcess", "free_port", "gone", "on_ci"]

CI_SKIP = ("CI=true: a skip fails on CI, where every tool must be installed "
           "(tools/toolchains.py, the [test] extras): {reason}")


def on_ci() -> bool:
    """Whether this run is CI's (`CI=true`, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _skip_reason(longrepr: object) -> str:
    # a skip's longrepr is (path, line, "Skipped: <reason>")
    return str(longrepr[2] if isinstance(longrepr, tuple) else longrepr).removeprefix("Skipped: ")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.skipped and on_ci() and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = CI_SKIP.format(reason=_skip_reason(report.longrepr))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector
                               ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report: pytest.CollectReport = yield
    if report.skipped and on_ci():  # a module-level importorskip or skip
        report.outcome = "failed"
        report.longrepr = CI_SKIP.format(reason=_skip_reason(report.longrepr))
    return report



def gone(pid: int, within: float = 5.0) -> bool:
    """Whether the process ends (or is a zombie nobody reaped) within `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(") ")[1].startswith("Z"):
                    return True
        except (FileNotFoundError, ProcessLookupError):  # reaped, also between open and read
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


@pytest.fixture
def runner_factory(tmp_path: Path) -> Iterator[Callable[..., RunnerProcess]]:
    started: list[RunnerProcess] = []

    def factory(lang: str = "python", *extra: str, **kw: object) -> RunnerProcess:
        r = start_runner(tmp_path, lang, *extra, **kw)  # type: ignore[arg-type]
        started.append(r)
        return r

    yield factory
    for r in started:
        r.stop()


@pytest.fixture
def runner(runner_factory: Callable[..., RunnerProcess]) -> RunnerProcess:
    """A python runner, already answering status."""
    r = runner_factory()
    r.client().status()
    return r
