"""Supervision as operators know it from supervisord, and one process group per service always.

The table is driven by events alone first; then real runners supervise real processes, and a
few hundred seeded random interleavings of start, stop, crash and runner shutdown count what
is alive afterwards.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest

from machines import vocabulary as v
from machines.base import Transitioned
from machines.registry import Machines
from machines.service import SUPERVISION
from tests.conftest import RunnerProcess, free_port
from tests.service_helpers import ROOT, log_rows, states, wait_rows
from transcripts.events import INPUT, OBSERVATION, Event

S = "service:web"
FAST = {"KRUNNER_SERVICE_START_WINDOW": "0.5", "KRUNNER_SERVICE_BACKOFF_BASE": "0.05",
        "KRUNNER_SERVICE_BACKOFF_MAX": "0.2", "KRUNNER_SERVICE_START_RETRIES": "2"}


def obs(name: str, **data: object) -> Event:
    return Event(S, OBSERVATION, name, data)


def drive(*events: Event) -> list[Transitioned]:
    moves: list = []
    machines = Machines(moves.append)
    for event in events:
        machines.consume(event)
    return [m for m in moves if isinstance(m, Transitioned)]


def to_states(moves: list[Transitioned]) -> list[str]:
    return [m.to_state for m in moves]


def crash(uptime: float = 0.1, code: int = 1) -> list[Event]:
    return [obs(v.PROCESS_EXITED, exit_code=code, uptime=uptime), obs(v.SERVICE_RESTARTING),
            obs(v.SERVICE_PORT_OPENED, port=1)]


START = obs(v.SERVICE_START_REQUESTED, port=1, start_retries=2)


def test_failed_starts_in_a_row_end_in_fatal_and_a_new_start_begins_afresh() -> None:
    moves = drive(START, obs(v.SERVICE_PORT_OPENED, port=1), *crash(), *crash(),
                  obs(v.PROCESS_EXITED, exit_code=1, uptime=0.1), START,
                  obs(v.SERVICE_PORT_OPENED, port=1))
    assert to_states(moves) == ["starting", "running", "backoff", "starting", "running",
                                "backoff", "starting", "running", "fatal", "starting",
                                "running"]
    fatal = next(m for m in moves if m.to_state == "fatal")
    assert fatal.data["reason"].startswith("3 failed starts in a row")


def test_a_good_run_resets_the_back_off() -> None:
    moves = drive(START, obs(v.SERVICE_PORT_OPENED, port=1), *crash(), *crash(),
                  *crash(uptime=30), *crash())
    delays = [m.data["backoff_delay"] for m in moves if m.to_state == "backoff"]
    base = SUPERVISION["backoff_base"]
    assert delays == [base, 2 * base, base, base]
    assert "fatal" not in to_states(moves)


def test_only_an_unexpected_exit_is_restarted() -> None:
    clean = drive(START, obs(v.SERVICE_PORT_OPENED, port=1),
                  obs(v.PROCESS_EXITED, exit_code=0, uptime=30))
    assert to_states(clean)[-1] == "exited"
    early_zero = drive(START, obs(v.SERVICE_PORT_OPENED, port=1),
                       obs(v.PROCESS_EXITED, exit_code=0, uptime=0.1))
    assert to_states(early_zero)[-1] == "backoff"  # within the start window: a failed start


def test_the_agents_own_start_failing_is_failed_with_the_exit_code() -> None:
    moves = drive(START, obs(v.SERVICE_SPAWNED, pid=5, wait_port=True),
                  obs(v.PROCESS_EXITED, exit_code=4, uptime=0.05))
    assert to_states(moves) == ["starting", "failed"]
    assert moves[-1].data["reason"] == "the process exited with code 4 before opening port 1"


def test_a_start_while_stopping_starts_again_once_stopped() -> None:
    moves = drive(START, obs(v.SERVICE_PORT_OPENED, port=1),
                  Event(S, INPUT, "shutdown-service", "web"), START,
                  obs(v.PROCESS_EXITED, exit_code=-15, uptime=3))
    assert to_states(moves) == ["starting", "running", "stopping", "starting"]


def test_a_stop_during_backoff_cancels_the_restart() -> None:
    moves = drive(START, obs(v.SERVICE_PORT_OPENED, port=1),
                  obs(v.PROCESS_EXITED, exit_code=1, uptime=3),
                  Event(S, INPUT, "shutdown-service", "web"), obs(v.SERVICE_RESTARTING))
    assert to_states(moves) == ["starting", "running", "backoff", "stopped"]


# --- real processes -------------------------------------------------------------------------
def _runner_with(runner_factory, defs: dict[str, dict], env: dict[str, str] | None = None
                 ) -> RunnerProcess:
    probe = runner_factory("app")
    probe.stop()
    folder = probe.home / "service-defs"
    for name, doc in defs.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    return runner_factory("app", "--service-defs", str(folder), env={**FAST, **(env or {})})


def _crashing(delay: float, code: int) -> dict:
    script = ("import socket, sys, time\ns = socket.socket()\n"
              "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
              "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
              f"time.sleep({delay}); sys.exit({code})\n")
    return {"command": [sys.executable, "-c", script, "{ports[0]}"]}


def test_a_crash_loop_ends_fatal_visible_in_inspect_and_a_new_start_revives_it(
        runner_factory) -> None:
    # each run lasts 0.3 s after binding: within the 3 s start window however loaded the machine
    r = _runner_with(runner_factory, {"loop": _crashing(0.3, 3)},
                     env={"KRUNNER_SERVICE_START_WINDOW": "3"})
    client = r.client()
    port = free_port()
    assert client.start_service("loop", port) == {"status": "started"}
    wait_rows(r.log_path, "SELECT 1 FROM events WHERE source = 'service:loop' "
              "AND to_state = 'fatal'", within=20)
    spawned = len(log_rows(r.log_path, "SELECT 1 FROM events WHERE source = 'service:loop' "
                           "AND name = 'ServiceSpawned'"))
    assert spawned == 3  # the agent's start and two restarts (start_retries = 2)
    timeline = subprocess.run(
        [sys.executable, "-m", "tools.inspect", "timeline", "--log", str(r.log_path),
         "--source", "service:loop", "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "fatal" in [row["to_state"] for row in json.loads(timeline)]
    assert client.start_service("loop", port) == {"status": "started"}  # afresh
    r.stop()
    assert states(r.log_path, "service:loop").count("fatal") >= 1


def test_an_expected_exit_after_a_good_run_is_not_restarted(runner_factory) -> None:
    r = _runner_with(runner_factory, {"once": _crashing(1.0, 0)})
    assert r.client().start_service("once", free_port()) == {"status": "started"}
    wait_rows(r.log_path, "SELECT 1 FROM events WHERE source = 'service:once' "
              "AND to_state = 'exited'", within=10)
    time.sleep(0.5)  # a restart would have been scheduled within the back-off base (0.05 s)
    assert states(r.log_path, "service:once") == ["starting", "running", "exited"]


def test_a_start_during_backoff_answers_running_and_starts_no_second_copy(
        runner_factory) -> None:
    r = _runner_with(runner_factory, {"slow": _crashing(0.3, 1)},
                     env={"KRUNNER_SERVICE_BACKOFF_BASE": "2", "KRUNNER_SERVICE_BACKOFF_MAX": "2"})
    client = r.client()
    port = free_port()
    assert client.start_service("slow", port) == {"status": "started"}
    wait_rows(r.log_path, "SELECT 1 FROM events WHERE source = 'service:slow' "
              "AND to_state = 'backoff'", within=10)
    assert client.start_service("slow", port) == {"status": "running"}
    r.stop()
    assert len(log_rows(r.log_path, "SELECT 1 FROM events WHERE source = 'service:slow' "
                        "AND name = 'ServiceSpawned'")) == 1


# --- random interleavings ---------------------------------------------------------------
def _marked(mark: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line carries `mark`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if mark.encode() not in f.read():
                    continue
            with open(f"/proc/{entry}/stat") as f:
                if f.read().split(") ")[1].startswith("Z"):
                    continue
        except OSError:
            continue
        found.append(int(entry))
    return found


def _settled(r: RunnerProcess, names: list[str], within: float = 20.0) -> dict[str, str]:
    """Each service's state once none is in motion (and stays so for a moment)."""
    deadline = time.monotonic() + within
    calm = {"running", "stopped", "exited", "failed", "fatal", None}
    while time.monotonic() < deadline:
        last = {n: (states(r.log_path, f"service:{n}") or [None])[-1] for n in names}
        if all(s in calm for s in last.values()):
            time.sleep(0.4)
            again = {n: (states(r.log_path, f"service:{n}") or [None])[-1] for n in names}
            if again == last:
                return last
        time.sleep(0.05)
    raise AssertionError(f"services never settled: {last}")


def _one_session(runner_factory, seed: int, ops: int) -> int:
    rng = random.Random(seed)
    token = f"krunner-fuzz-{uuid.uuid4().hex[:8]}"
    names = ["a", "b", "c"]
    ports = {n: free_port() for n in names}
    defs = {n: {"command": [sys.executable, "-m", "tests.fuzz_service", f"{token}-{n}",
                            "{ports[0]}"]} for n in names}
    r = _runner_with(runner_factory, defs, env={"PYTHONPATH": str(ROOT)})
    client = r.client()
    starts = 0
    for step in range(ops):
        name = rng.choice(names)
        op = rng.choice(["start", "start", "stop", "crash", "crash"])
        if op == "start":
            client.send("start-service", json.dumps({"name": name, "port": ports[name],
                                                     "ports": [ports[name]]}))
            starts += 1
        elif op == "stop":
            client.shutdown_service(name)
        else:
            for pid in _marked(f"{token}-{name}"):
                os.kill(pid, rng.choice([signal.SIGKILL, signal.SIGTERM]))
        time.sleep(rng.uniform(0, 0.06))
        if step % 25 == 24:  # at rest, what runs is exactly what the machine says runs
            settled = _settled(r, names)
            for n in names:
                alive = _marked(f"{token}-{n}")
                expected = 2 if settled[n] == "running" else 0
                assert len(alive) == expected, (seed, step, n, settled[n], alive)
    replies = [client.wait_for("service-result", timeout=30) for _ in range(starts)]
    assert all(json.loads(p)["status"] in ("started", "running", "failed") for p in replies)
    with pytest.raises(TimeoutError):  # exactly one reply per start-service
        client.wait_for("service-result", timeout=0.5)
    for name in names:  # a last burst, and the runner stops in the middle of it
        client.send("start-service", json.dumps({"name": name, "port": ports[name]}))
        for pid in _marked(f"{token}-{name}")[:1]:
            os.kill(pid, signal.SIGKILL)
    r.stop()
    assert _marked(token) == [], (seed, "outlived the runner")
    return starts


@pytest.mark.timeout(600)
def test_random_interleavings_never_leave_two_copies_or_an_orphan(runner_factory) -> None:
    sessions, ops = 4, 75  # 300 random operations against real processes
    for seed in range(sessions):
        _one_session(runner_factory, seed, ops)
