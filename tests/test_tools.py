"""The people-facing tools, run as commands on real log files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from machines import vocabulary as v
from transcripts.events import OBSERVATION, Event
from transcripts.replay import record
from transcripts.store import EventLog

ROOT = Path(__file__).resolve().parent.parent
MODEL = "model:llm"


def tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)


def health_story(path: Path) -> None:
    log = EventLog(path)
    log.open_session(kernel_id="k", language="python")
    record(log, [
        Event(MODEL, OBSERVATION, v.MODEL_CONFIGURED, {"failure_threshold": 2}, wall=1, mono=1),
        Event(MODEL, OBSERVATION, v.PROBE_SUCCEEDED, {"status": 200, "latency_ms": 2.5},
              wall=2, mono=2),
        Event(MODEL, OBSERVATION, v.PROBE_FAILED, {"reason": "timed out after 1 s",
                                                   "latency_ms": 1000.0}, wall=3, mono=3),
        Event(MODEL, OBSERVATION, v.PROBE_FAILED, {"reason": "connection refused",
                                                   "latency_ms": 0.4}, wall=4, mono=4),
    ])
    log.close()


def test_replay_exit_codes_say_match_divergence_or_bad_input(tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite3"
    health_story(log)
    assert tool("tools.replay", "offline", "--log", str(log)).returncode == 0
    db = sqlite3.connect(log)
    db.execute("UPDATE events SET to_state = 'healthy' WHERE to_state = 'unhealthy'")
    db.commit()
    db.close()
    diverged = tool("tools.replay", "offline", "--log", str(log))
    assert diverged.returncode == 1
    assert "DIVERGES" in diverged.stdout
    assert tool("tools.replay", "offline", "--log", str(tmp_path / "absent")).returncode == 2


def test_a_transcript_exported_and_imported_elsewhere_replays(tmp_path: Path) -> None:
    log, copy, out = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3", tmp_path / "s.jsonl"
    health_story(log)
    assert tool("tools.transcript", "export", "--log", str(log), "--out", str(out)
                ).returncode == 0
    assert json.loads(out.read_text().splitlines()[0])["format"] == "krunner-transcript"
    assert tool("tools.transcript", "import", str(out), "--log", str(copy)).returncode == 0
    assert tool("tools.replay", "offline", "--transcript", str(out)).returncode == 0
    assert tool("tools.replay", "offline", "--log", str(copy)).returncode == 0
    again = tool("tools.transcript", "import", str(out), "--log", str(copy))
    assert again.returncode == 2 and "already" in again.stderr
