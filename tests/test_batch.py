"""Batch mode: clean, build and exec as the agent sends them, with real shell children."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import RunnerProcess, gone


def test_empty_steps_still_finish_each_exactly_once(runner: RunnerProcess) -> None:
    result = runner.client().batch(clean="", build="", exec="")
    assert (result.clean_exit, result.build_exit, result.exec_exit) == (0, 0, 0)


def test_output_and_exit_codes_of_each_step(runner: RunnerProcess) -> None:
    result = runner.client().batch(clean="echo cleaning", build="echo building >&2",
                                   exec="echo running; exit 3")
    assert (result.clean_exit, result.build_exit, result.exec_exit) == (0, 0, 3)
    assert "cleaning" in result.stdout
    assert "building" in result.stderr
    assert "running" in result.stdout


def test_a_failed_build_skips_exec_with_127(runner: RunnerProcess) -> None:
    client = runner.client()
    result = client.batch(build="exit 2", exec="touch ran")
    assert result.build_exit == 2
    assert result.exec_exit == 127
    assert not (runner.work_dir / "ran").exists()
    assert client.batch(build="true", exec="echo again").exec_exit == 0


def test_batch_mode_marker_and_the_python_heuristic(runner: RunnerProcess) -> None:
    (runner.work_dir / "main.py").write_text(
        "import os\nprint('batch', os.environ.get('_BACKEND_BATCH_MODE'))\n")
    result = runner.client().batch(build="*", exec="*")
    assert result.exec_exit == 0
    assert "batch 1" in result.stdout


def test_input_in_a_batch_python_program_reaches_the_agent(runner: RunnerProcess) -> None:
    (runner.work_dir / "main.py").write_text(
        "name = input('name? ')\nprint('hello', name)\n")
    result = runner.client().batch(exec="*", inputs=["Grace"])
    assert result.exec_exit == 0
    assert "hello Grace" in result.stdout
    assert len(result.waiting_inputs) == 1


def test_interrupt_ends_the_whole_process_group(runner: RunnerProcess, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    client = runner.client()
    script = (f"sleep 300 & echo $! >> {pids}; sleep 300 & echo $! >> {pids}; "
              f"echo $$ >> {pids}; echo started; wait")
    client.send("clean", "")
    client.wait_for("clean-finished", timeout=30)
    client.send("build", "")
    client.wait_for("build-finished", timeout=30)
    client.send("exec", script)
    client.wait_for("stdout", timeout=30)
    client.interrupt()
    finished = json.loads(client.wait_for("finished", timeout=15))
    assert finished["exitCode"] != 0
    for pid in map(int, pids.read_text().split()):
        assert gone(pid), f"process {pid} survived the interrupt"


def test_status_is_answered_while_a_batch_program_runs(runner: RunnerProcess) -> None:
    client = runner.client()
    client.send("exec", "echo go; sleep 2")
    client.wait_for("stdout", timeout=30)
    began = time.monotonic()
    assert "started_at" in client.status()
    assert time.monotonic() - began < 1.0
    client.wait_for("finished", timeout=30)
