"""`python -m bench.crash [KILLS]`: SIGKILL a busy runner at random moments, again and again.

Each round starts a runner on the same log file, keeps it busy (queries, streaming output,
input dialogs, status pings) from a client thread, kills it with SIGKILL at a random moment,
then checks the log: `PRAGMA integrity_check`, offline replay of the cut session, and that
the next runner opens a new session in the same file. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tools.client import AgentClient
from tools.launch import start_runner
from transcripts.reader import open_readonly
from transcripts.replay import replay_session


def keep_busy(client: AgentClient, stop: threading.Event) -> None:
    """Queries, streams and input dialogs until the runner stops answering."""
    work = [lambda: client.query("for i in range(300): print(i)"),
            lambda: client.batch(exec="head -c 3000000 /dev/zero"),
            lambda: client.query("name = input('? ')\nprint(name)", inputs=["crash-test"]),
            lambda: client.status()]
    step = 0
    while not stop.is_set():
        try:
            work[step % len(work)]()
        except (TimeoutError, ValueError, OSError):
            return
        step += 1


def one_round(log: Path, folder: Path, rng: random.Random) -> dict[str, Any]:
    runner = start_runner(folder, "python", "--log", str(log))
    client = AgentClient("127.0.0.1", runner.input_port, runner.output_port, timeout=3)
    stop = threading.Event()
    try:
        client.status(timeout=30)
        # The kernel must be up before the busy loop, whose short timeout ends it; a loaded
        # machine can take longer than that to start one.
        client.query("pass", timeout=120)
        busy = threading.Thread(target=keep_busy, args=(client, stop), daemon=True)
        busy.start()
        time.sleep(rng.uniform(0.05, 2.5))
        os.kill(runner.proc.pid, signal.SIGKILL)
        runner.proc.wait()
        stop.set()
        busy.join(10)
    finally:
        client.close()
    return check(log)


def check(log: Path) -> dict[str, Any]:
    db = sqlite3.connect(log)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        session = db.execute("SELECT id FROM sessions ORDER BY key DESC LIMIT 1").fetchone()[0]
        sessions = db.execute("SELECT count(*) FROM sessions").fetchone()[0]
    finally:
        db.close()
    report = replay_session(open_readonly(log), session)
    return {"integrity": integrity, "replay_ok": report.ok, "events": report.events,
            "sessions": sessions, "divergence": report.as_dict()["divergence"]}


def run(kills: int, seed: int = 4) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        folder = Path(tmp)
        log = folder / "events.sqlite3"
        rounds = [one_round(log, folder, rng) for _ in range(kills)]
    return {"kills": kills,
            "integrity_ok": sum(r["integrity"] == "ok" for r in rounds),
            "replay_ok": sum(r["replay_ok"] for r in rounds),
            "new_session_each_start": [r["sessions"] for r in rounds] == list(
                range(1, kills + 1)),
            "events_per_session": [r["events"] for r in rounds],
            "failures": [r for r in rounds if r["integrity"] != "ok" or not r["replay_ok"]]}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 50), indent=2))
