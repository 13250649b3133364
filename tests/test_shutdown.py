"""Stop means gone, and shutdown is bounded: a runner told to stop, in whatever state it is,
ends every run with its end event, leaves no process behind, closes its log, and is gone
within 8 s (Docker kills at 10). What is left is counted by `bench.leftovers`, a subreaper
of its own above the runner, which does not trust the runner's bookkeeping.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.shutdown import LIMIT, STATES, log_verdict, one, problems
from tests.conftest import RunnerProcess
from tests.service_helpers import log_rows, wait_rows

SHUTDOWN_STATES_PER_RUN = 6  # of bench.shutdown's states; `python -m bench.shutdown N` for more


def _watched_runner(runner_factory: Callable[..., RunnerProcess], tmp_path: Path
                    ) -> tuple[RunnerProcess, Path]:
    report = tmp_path / "leftovers.json"
    runner = runner_factory("python", prefix=(sys.executable, "-m", "bench.leftovers",
                                              str(report)))
    runner.client().status()
    return runner, report


def _terminate(runner: RunnerProcess, report: Path) -> dict:
    runner.proc.send_signal(signal.SIGTERM)
    assert runner.proc.wait(LIMIT + 5) == 0
    return json.loads(report.read_text())


def _pid_in(text: str) -> int:
    return int(text.split()[-1])


def _in_own_session(pid: int) -> int:
    """`pid`, once it leads its own session (`setsid` has done its work)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as stat:
            if int(stat.read().rsplit(") ", 1)[1].split()[3]) == pid:
                return pid
        time.sleep(0.02)
    raise AssertionError(f"{pid} never left its process group")


def _run_transitions(log: Path, source: str) -> list[tuple[str, str | None]]:
    return [(r[0], json.loads(r[1] or "{}").get("reason")) for r in log_rows(
        log, "SELECT to_state, data FROM events WHERE source = ? AND kind = 'transition' "
             "ORDER BY seq", source)]


def test_sigterm_ends_a_batch_run_whose_setsid_child_holds_its_output(
        runner_factory, tmp_path) -> None:
    runner, report = _watched_runner(runner_factory, tmp_path)
    client = runner.client()
    client.send("exec", "setsid sleep 300 & echo started $!")
    child = _in_own_session(_pid_in(client.wait_for("stdout").decode()))
    found = _terminate(runner, report)
    assert found["leftovers"] == [], "the setsid child outlived the runner"
    assert not os.path.exists(f"/proc/{child}") or _zombie(child)
    assert _run_transitions(runner.log_path, "run:1")[-1] == (
        "failed", "the runner is shutting down")
    verdict = log_verdict(runner.log_path)
    assert verdict["session_closed"] and verdict["runs_not_ended"] == []


def test_queued_runs_end_with_a_reason_at_shutdown(runner_factory, tmp_path) -> None:
    runner, report = _watched_runner(runner_factory, tmp_path)
    client = runner.client()
    client.send("exec", "echo first; sleep 300")
    for op, payload in (("clean", "true"), ("build", "true"), ("exec", "true"), ("code", "1")):
        client.send(op, payload)
    client.wait_for("stdout")
    wait_rows(runner.log_path, "SELECT 1 FROM events WHERE source = 'run:5' "
                               "AND to_state = 'queued'")
    assert _terminate(runner, report)["leftovers"] == []
    ends = [_run_transitions(runner.log_path, f"run:{n}")[-1] for n in range(1, 6)]
    assert ends[3] == ("failed", "build failed"), ends  # §5.1: the exec after it is skipped
    for state, reason in ends[:3] + ends[4:]:
        assert state == "failed" and reason.startswith("the runner is shutting down"), ends
    assert log_verdict(runner.log_path)["session_closed"]


def test_interrupt_ends_a_run_whose_setsid_child_holds_its_output(runner_factory) -> None:
    runner = runner_factory("python")
    client = runner.client()
    client.send("exec", "setsid sleep 300 & echo started $!")
    child = _in_own_session(_pid_in(client.wait_for("stdout").decode()))
    client.interrupt()
    result = client.collect("finished", timeout=30)  # SIGINT, then SIGTERM to the family
    assert result.exit_code is not None
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{child}") and not _zombie(child):
        assert time.monotonic() < deadline, "the setsid child outlived the interrupt"
        time.sleep(0.05)


def test_an_orphan_is_reaped_and_exit_codes_stay_right(runner_factory) -> None:
    runner = runner_factory("python")
    client = runner.client()
    orphans = []
    for _ in range(5):  # orphans die while the run's own exit is being reaped
        result = client.batch(exec="setsid sleep 0.05 >/dev/null 2>&1 & echo $!; exit 3")
        assert result.exec_exit == 3
        orphans.append(_pid_in(result.stdout))
    deadline = time.monotonic() + 10
    for pid in orphans:  # reaped by the runner, its subreaper: not left a zombie
        while os.path.exists(f"/proc/{pid}"):
            assert time.monotonic() < deadline, f"orphan {pid} is still there: {_state(pid)}"
            time.sleep(0.05)
    assert client.batch(exec="exit 7").exec_exit == 7


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0]
    except OSError:
        return "gone"


def _zombie(pid: int) -> bool:
    return _state(pid) in ("Z", "X", "gone")


def _seed() -> int:
    """Random per test run, but the same in every xdist worker (they must collect alike)."""
    if os.environ.get("KRUNNER_SHUTDOWN_SEED"):
        return int(os.environ["KRUNNER_SHUTDOWN_SEED"])
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    return int(run_id, 16) % (1 << 30) if run_id else random.randrange(1 << 30)


SEED = _seed()
DRAWN = random.Random(SEED).sample(sorted(STATES), SHUTDOWN_STATES_PER_RUN)


@pytest.mark.parametrize("state", DRAWN)
def test_sigterm_in_a_random_state_is_over_within_8_s_and_leaves_nothing(
        state: str, tmp_path: Path) -> None:
    result = one(state, tmp_path, random.Random(SEED))
    assert problems(result) == [], f"{state} (KRUNNER_SHUTDOWN_SEED={SEED}): {result}"


def test_the_verdict_sees_a_run_that_never_ended(tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite3"
    db = sqlite3.connect(log)
    db.executescript("CREATE TABLE sessions (ended_wall REAL); INSERT INTO sessions VALUES (1);"
                     "CREATE TABLE events (source TEXT, kind TEXT, name TEXT, to_state TEXT);"
                     "INSERT INTO events VALUES ('run:1', 'transition', 'start', 'executing');"
                     "INSERT INTO events VALUES ('kernel', 'observation', 'RunnerStopped', "
                     "NULL);")
    db.commit()
    db.close()
    assert log_verdict(log)["runs_not_ended"] == ["run:1"]


HANGING_SHUTDOWN = """
import subprocess, sys, time
from runner.shutdown import Watchdog
child = subprocess.Popen(["sleep", "300"], start_new_session=True)
print(child.pid, flush=True)
Watchdog(after=0.5).arm()
time.sleep(60)  # a shutdown step that never ends
"""


def test_the_watchdog_kills_everything_and_exits_when_the_shutdown_hangs() -> None:
    import subprocess

    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", HANGING_SHUTDOWN], stdout=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parent.parent)
    child = int(proc.stdout.readline())  # type: ignore[union-attr]
    assert proc.wait(10) == 70
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 5
    while not _zombie(child):
        assert time.monotonic() < deadline, "the watchdog left a child behind"
        time.sleep(0.05)


def test_a_shutdown_step_is_cut_off_at_its_box_and_said() -> None:
    import asyncio

    from runner.shutdown import Deadline

    async def scenario() -> tuple[float, list[str]]:
        deadline = Deadline(time.monotonic(), budget=5.0)
        began = time.monotonic()
        await deadline.step("a step that hangs", asyncio.sleep(60), box=0.3)
        await deadline.step("one that is done", asyncio.sleep(0), box=0.3)
        return time.monotonic() - began, deadline.overrun

    took, overrun = asyncio.run(scenario())
    assert took < 2.0
    assert overrun == ["a step that hangs"]
