"""What the language tests share: one runner per language module, and the checks they repeat."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.blocked_reads import session_members
from tests.conftest import RunnerProcess, gone
from tools.client import AgentClient
from tools.launch import start_runner
from transcripts.reader import decode


def need(*commands: str) -> None:
    """Skip, naming the missing command, when a toolchain is absent (tools/toolchains.py
    installs it in CI)."""
    for command in commands:
        if shutil.which(command) is None:
            pytest.skip(f"{command} is not installed (make toolchains installs it)")


@pytest.fixture(scope="module")
def module_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="lang-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def start(folder: Path, lang: str, *extra: str, **kw: object) -> RunnerProcess:
    """A runner of `lang`, answering status."""
    runner = start_runner(folder, lang, *extra, **kw)  # type: ignore[arg-type]
    runner.client(timeout=180).status()
    return runner


def clear(work: Path) -> None:
    """Empty the work folder between tests that share a runner."""
    for entry in work.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink()


def write(work: Path, files: dict[str, str]) -> None:
    clear(work)
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)


def interrupt_ends_everything(runner: RunnerProcess, op: str, payload: str,
                              kernel: bool = False) -> int:
    """Start a run that never ends, interrupt it once it printed, and check that no process
    it started is left; the exit code. With `kernel`, the run is a query inside a Jupyter
    kernel started before it: the kernel must be found, and must outlive the interrupt."""
    client = runner.client()
    before = kernel_pids(runner) if kernel else set(session_pids(runner.proc.pid))
    client.send(op, payload)
    client.wait_for("stdout", timeout=180)
    members = [pid for pid in session_pids(runner.proc.pid) if pid not in before]
    if not kernel:
        assert members, "the running program was not found among the runner's children"
    client.interrupt()
    finished = json.loads(client.wait_for("finished", timeout=30))
    for pid in members:
        assert gone(pid), f"process {pid} survived the interrupt"
    if kernel:
        died = [pid for pid in before if gone(pid, within=0)]
        assert not died, f"the kernel's processes {died} did not outlive the interrupt"
    return int(finished["exitCode"])


def kernel_pids(runner: RunnerProcess, within: float = 120) -> set[int]:
    """The processes of the runner's Jupyter kernel, once it has started (it starts with the
    runner, in the background)."""
    deadline = time.monotonic() + within
    while not (found := set(session_pids(runner.proc.pid))):
        assert time.monotonic() < deadline, "no Jupyter kernel among the runner's children"
        time.sleep(0.1)
    return found


def session_pids(runner_pid: int) -> list[int]:
    """Processes the runner started in sessions of their own (its batch and query children)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ppid, sid = int(fields[1]), int(fields[3])
        if sid == int(name) and ppid == runner_pid:
            found.append(int(name))
    return [pid for sid in found for pid in session_members(sid)]


def events(runner: RunnerProcess, name: str) -> list[dict[str, object]]:
    """The data of every observation `name` in the runner's log (read after it stopped)."""
    db = sqlite3.connect(runner.log_path)
    try:
        rows = db.execute("SELECT data FROM events WHERE name=? ORDER BY seq", (name,))
        return [decode(r[0]) for r in rows]
    finally:
        db.close()


def until_input(client: AgentClient, timeout: float = 120) -> str:
    """The stdout sent before the next `waiting-input` (which must come before `finished`)."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        kind, data = client.recv(max(deadline - time.monotonic(), 0.0), "waiting-input")
        assert kind != "finished", f"the run ended without asking for input: {out!r}"
        if kind == "waiting-input":
            return b"".join(out).decode()
        if kind == "stdout":
            out.append(data)


def asked_once_then_finished(client: AgentClient, prompt: str, answer: str,
                             timeout: float = 120) -> tuple[str, int]:
    """Wait for the one `waiting-input` after `prompt`, answer it, then for `finished` with no
    second question (which fails at once); the whole stdout and the exit code."""
    assert until_input(client, timeout).endswith(prompt)
    client.send("input", answer)
    out = [prompt.encode()]
    deadline = time.monotonic() + timeout
    while True:
        kind, data = client.recv(max(deadline - time.monotonic(), 0.0), "finished")
        assert kind != "waiting-input", f"asked a second time, after {b''.join(out)!r}"
        if kind == "stdout":
            out.append(data)
        if kind == "finished":
            return b"".join(out).decode(), int(json.loads(data)["exitCode"])
