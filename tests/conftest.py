"""A factory that starts real runner processes on free ports, each with its own log and folders."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tools.launch import RunnerProcess, start_runner

__all__ = ["RunnerProcess", "free_port", "gone"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
