"""A factory that starts real runner processes on free ports, each with its own log and folders."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools.client import AgentClient

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunnerProcess:
    """A runner started by a test: its process, folders, log file and an agent-side client."""

    proc: subprocess.Popen[bytes]
    home: Path
    log_path: Path
    input_port: int
    output_port: int
    clients: list[AgentClient] = field(default_factory=list)

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    def client(self, timeout: float = 60.0) -> AgentClient:
        client = AgentClient("127.0.0.1", self.input_port, self.output_port, timeout=timeout)
        self.clients.append(client)
        return client

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            for client in self.clients:
                client.close()

    def stderr_text(self) -> str:
        return (self.home / "runner.stderr").read_text(errors="replace")


def start_runner(tmp_path: Path, lang: str = "python", *extra: str,
                 env: dict[str, str] | None = None) -> RunnerProcess:
    home = tmp_path / f"runner-{free_port()}"
    for sub in ("work", "config", "service-defs", "state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    log_path = home / "events.sqlite3"
    inp, out = free_port(), free_port()
    argv = [sys.executable, "-m", "runner", lang, sys.executable,
            "--input-port", str(inp), "--output-port", str(out),
            "--work-dir", str(home / "work"), "--config-dir", str(home / "config"),
            "--service-defs", str(home / "service-defs"), "--state-dir", str(home / "state"),
            "--user-input-socket", str(home / "input.sock"), "--log", str(log_path), *extra]
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    stderr = open(home / "runner.stderr", "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(argv, cwd=home / "work", env=child_env, stdout=subprocess.DEVNULL,
                            stderr=stderr)
    return RunnerProcess(proc, home, log_path, inp, out)


@pytest.fixture
def runner_factory(tmp_path: Path) -> Iterator[Callable[..., RunnerProcess]]:
    started: list[RunnerProcess] = []

    def factory(lang: str = "python", *extra: str, **kw: object) -> RunnerProcess:
        r = start_runner(tmp_path, lang, *extra, **kw)
        started.append(r)
        return r

    yield factory
    for r in started:
        if r.proc.poll() is None:
            r.proc.send_signal(signal.SIGTERM)
            try:
                r.proc.wait(20)
            except subprocess.TimeoutExpired:
                r.proc.kill()
        for client in r.clients:
            client.close()


@pytest.fixture
def runner(runner_factory) -> RunnerProcess:
    """A python runner, already answering status."""
    r = runner_factory()
    r.client().status()
    return r
