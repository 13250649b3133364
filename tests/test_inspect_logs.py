"""A fleet's logs read as one; logs on read-only media; a log a running runner holds open;
the runner's WAL checkpointed on a clean exit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunnerProcess
from tests.stories import flapping_model, write_log
from tests.tooling import ROOT, tool
from transcripts.events import INPUT, Event
from transcripts.store import EventLog

NEEDS_NAMESPACES = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare"),
    reason="needs root and unshare(1) for a private read-only mount")


def _container_log(path: Path, code: bytes) -> EventLog:
    path.parent.mkdir(parents=True, exist_ok=True)
    log = EventLog(path)
    log.open_session(kernel_id=path.parent.name, language="python")
    log.append(Event("run:1", INPUT, "code", code))
    log.close()
    return log


def test_several_logs_read_as_one_each_session_labelled(tmp_path: Path) -> None:
    a = _container_log(tmp_path / "fleet" / "a" / "events.sqlite3", b"print('a')")
    b = _container_log(tmp_path / "fleet" / "b" / "events.sqlite3", b"print('b')")
    glob = str(tmp_path / "fleet" / "*" / "events.sqlite3")
    out = tool("tools.inspect", "sessions", "--log", glob, "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {(r["session"], r["log"]) for r in rows} == {(a.session, str(a.path)),
                                                       (b.session, str(b.path))}
    both = tool("tools.inspect", "events", "--log", str(a.path), "--log", str(b.path),
                "--session", "all", "--format", "json")
    got = {(r["log"], r["data"]) for r in json.loads(both.stdout)}
    assert got == {(str(a.path), "print('a')"), (str(b.path), "print('b')")}
    one = tool("tools.inspect", "events", "--log", glob, "--session", b.session[:8])
    assert "print('b')" in one.stdout and "print('a')" not in one.stdout


def test_health_across_a_fleet_names_each_model_with_its_log(tmp_path: Path) -> None:
    write_log(tmp_path / "x" / "events.sqlite3", flapping_model(), kernel_id="x")
    write_log(tmp_path / "y" / "events.sqlite3", flapping_model(source="model:other"))
    out = tool("tools.inspect", "health", "--log", str(tmp_path / "*" / "events.sqlite3"),
               "--format", "json")
    got = sorted((s["model"], Path(s["log"]).parent.name) for s in json.loads(out.stdout))
    assert got == [("llm", "x"), ("other", "y")]


def test_a_running_runners_log_can_be_read_and_a_clean_exit_leaves_no_wal(
        runner: RunnerProcess, tmp_path: Path) -> None:
    runner.client().query("print('while it runs')")
    live = tool("tools.inspect", "events", "--log", str(runner.log_path), "--source", "run:1",
                "--format", "json")
    assert live.returncode == 0, live.stderr
    assert "while it runs\n" in [r["data"] for r in json.loads(live.stdout)]
    assert runner.stop() == 0
    wal = runner.log_path.with_name(runner.log_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed on the clean exit
    alone = tmp_path / "copied" / "events.sqlite3"
    alone.parent.mkdir()
    shutil.copy(runner.log_path, alone)  # the main file only, as a careless copy would
    out = tool("tools.inspect", "sessions", "--log", str(alone), "--format", "json")
    [session] = json.loads(out.stdout)
    assert session["ended"] is not None and "-wal" not in out.stderr


@NEEDS_NAMESPACES
def test_a_log_on_read_only_media_is_read(tmp_path: Path) -> None:
    log = _container_log(tmp_path / "src" / "events.sqlite3", b"print('on a read-only disk')")
    media = tmp_path / "media"
    media.mkdir()
    script = (f'mount -t tmpfs tmpfs {media} && cp {log.path} {media}/ && '
              f'mount -o remount,ro {media} && exec "$@"')
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "tools.inspect",
         "events", "--log", str(media / "events.sqlite3"), "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert [r["data"] for r in json.loads(done.stdout)] == ["print('on a read-only disk')"]
