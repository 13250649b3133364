"""A runner killed with SIGKILL at any moment leaves a valid log holding a gap-free prefix."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLS = 30


def _numbers(path: Path, session: str) -> list[int]:
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        numbers = []
        for kind, data in db.execute(
                "SELECT kind, data FROM events WHERE session = ? ORDER BY seq", (session,)):
            if kind == "output":
                numbers.append(int(bytes(data)[1024:]))
            else:
                numbers.append(int(data.split(":")[1].rstrip("}")))
        return numbers
    finally:
        db.close()


def test_sigkill_at_random_moments_leaves_a_valid_gap_free_prefix(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    log = tmp_path / "events.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    totals = []
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-m", "tests.kill_target", str(log)], env=env,
                                cwd=ROOT, stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline() == b"appending\n"
        time.sleep(rng.uniform(0, 0.2))  # anywhere in the middle of appending
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        db = sqlite3.connect(log)
        session = db.execute("SELECT key FROM sessions ORDER BY key DESC LIMIT 1").fetchone()
        db.close()
        numbers = _numbers(log, session[0])
        assert numbers == list(range(len(numbers))), "events lost or reordered"
        totals.append(len(numbers))
    assert sum(1 for t in totals if t > 0) >= KILLS * 3 // 4, totals
    db = sqlite3.connect(log)
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == len(totals)
    db.close()
