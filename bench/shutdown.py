"""`python -m bench.shutdown [N] [SEED]`: SIGTERM a runner in N random states; how long it takes.

Each round starts a runner below `bench.leftovers` (a subreaper of its own, which counts
what the runner leaves), drives it into one state (idle, a query running, spinning, deaf
to interrupts or waiting for input, a batch step with a `setsid` child holding its output,
a service starting or running or daemonized, a model being probed, the kernel restarting,
an output flood the agent does not read, runs queued...), waits a random moment, and sends
SIGTERM. Checked:
the exit (code, seconds), no process left, the log's session closed, every run ended.
Prints one JSON object: max, p50 and p99 of the shutdown time, and every failed round.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.client import AgentClient
from tools.launch import RunnerProcess, start_runner

LIMIT = 8.0  # seconds from SIGTERM to the runner gone (Docker kills at 10)
PY = sys.executable
SLOW_START = ("import socket, sys, time\ntime.sleep(30)\ns = socket.socket()\n"
              "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\ntime.sleep(600)\n")
SERVE = ("import socket, sys, time\ns = socket.socket()\n"
         "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
         "while True: s.accept()[0].close()\n")
SERVICE_DEFS = {
    "service-defs/slow.json": {"command": [PY, "-c", SLOW_START, "{ports[0]}"]},
    "service-defs/web.json": {"command": [PY, "-c", SERVE, "{ports[0]}"]},
    "service-defs/daemon.json": {"command": [PY, "-m", "tests.daemon_server", "{ports[0]}",
                                             "daemon.pid"]},
}


@dataclass
class Scene:
    """A runner being driven into a state."""

    runner: RunnerProcess
    client: AgentClient
    rng: random.Random

    def log_has(self, sql: str, *args: object, within: float = 60.0) -> None:
        """Wait until the runner's log has a row for `sql`."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                db = sqlite3.connect(f"file:{self.runner.log_path}?mode=ro", uri=True)
                try:
                    if db.execute(sql, args).fetchone():
                        return
                finally:
                    db.close()
            except sqlite3.OperationalError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"not logged within {within} s: {sql}")

    def port(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


def _starting(s: Scene) -> None:
    pass  # status answered; the kernel is most likely still starting


def _idle(s: Scene) -> None:
    s.client.query("pass", timeout=120)


def _query_running(s: Scene) -> None:
    s.client.send("code", "import time\nprint('go', flush=True)\nwhile True: time.sleep(0.01)")
    s.client.wait_for("stdout", timeout=120)


def _query_spinning(s: Scene) -> None:
    s.client.send("code", "print('go', flush=True)\nwhile True: pass")
    s.client.wait_for("stdout", timeout=120)


def _query_deaf(s: Scene) -> None:
    s.client.send("code", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                          "print('go', flush=True)\nwhile True: pass")
    s.client.wait_for("stdout", timeout=120)


def _query_waiting_input(s: Scene) -> None:
    s.client.send("code", "input('? ')")
    s.client.wait_for("waiting-input", timeout=120)


def _batch_setsid_child(s: Scene) -> None:
    s.client.send("exec", "setsid sleep 300 & echo started")
    s.client.wait_for("stdout", timeout=60)


def _batch_waiting_input(s: Scene) -> None:
    s.client.send("exec", "read answer; echo $answer")
    s.client.wait_for("waiting-input", timeout=60)


def _runs_queued(s: Scene) -> None:
    s.client.send("exec", "echo first; sleep 300")
    for op in ("clean", "build", "exec", "code"):
        s.client.send(op, "true" if op != "code" else "pass")
    s.client.wait_for("stdout", timeout=60)


def _service_starting(s: Scene) -> None:
    s.client.send("start-service", json.dumps({"name": "slow", "port": s.port(),
                                               "ports": [], "protocol": "tcp"}))
    s.log_has("SELECT 1 FROM events WHERE name = 'ServiceSpawned'")


def _service_running(s: Scene) -> None:
    assert s.client.start_service("web", s.port())["status"] == "started"


def _daemon_running(s: Scene) -> None:
    assert s.client.start_service("daemon", s.port())["status"] == "started"


def _model_probing(s: Scene) -> None:
    folder = s.runner.home / "model"
    folder.mkdir(exist_ok=True)
    port = s.port()
    model = {"name": "llm", "model_path": str(folder),
             "service": {"start_command": [PY, "-c", SLOW_START, str(port)], "port": port,
                         "health_check": {"path": "/health", "max_retries": 1000,
                                          "max_wait_time": 0.3}}}
    s.client.send("start-model-service", json.dumps(model))
    s.log_has("SELECT 1 FROM events WHERE name = 'ProbeFailed'")


def _kernel_restarting(s: Scene) -> None:
    s.client.query("pass", timeout=120)
    db = sqlite3.connect(f"file:{s.runner.log_path}?mode=ro", uri=True)
    try:
        pid = db.execute("SELECT json_extract(data, '$.kernel_pid') FROM events "
                         "WHERE name = 'DriverReady'").fetchone()[0]
    finally:
        db.close()
    os.kill(int(pid), signal.SIGKILL)
    s.log_has("SELECT 1 FROM events WHERE to_state = 'restarting'")


def _output_flood(s: Scene) -> None:
    op, code = s.rng.choice([("code", "while True: print('x' * 1000)"), ("exec", "yes")])
    s.client.send(op, code)
    s.client.wait_for("stdout", timeout=120)  # and reads nothing more: the agent is behind


STATES: dict[str, Callable[[Scene], None]] = {
    "starting": _starting, "idle": _idle, "query running": _query_running,
    "query spinning": _query_spinning, "query deaf to interrupts": _query_deaf,
    "query waiting for input": _query_waiting_input,
    "batch with a setsid child": _batch_setsid_child,
    "batch waiting for input": _batch_waiting_input, "runs queued": _runs_queued,
    "service starting": _service_starting, "service running": _service_running,
    "daemonized service running": _daemon_running, "model probing": _model_probing,
    "kernel restarting": _kernel_restarting, "output flood": _output_flood,
}


def one(state: str, folder: Path, rng: random.Random) -> dict[str, Any]:
    """Drive a fresh runner into `state`, SIGTERM it, and check what is left."""
    report = Path(tempfile.mkstemp(dir=folder, suffix=".json")[1])
    files = {path: json.dumps(doc) for path, doc in SERVICE_DEFS.items()}
    runner = start_runner(folder, "python", files=files,
                          prefix=(PY, "-m", "bench.leftovers", str(report)))
    client = runner.client(timeout=60)
    try:
        client.status(timeout=60)
        STATES[state](Scene(runner, client, rng))
        time.sleep(rng.uniform(0.0, 0.3))
        runner.proc.send_signal(signal.SIGTERM)
        try:
            exit_code = runner.proc.wait(LIMIT + 5)
        except Exception:
            runner.proc.kill()
            exit_code = runner.proc.wait()
    finally:
        runner.stop()
    found = json.loads(report.read_text() or "{}")
    return {"state": state, "exit_code": exit_code, "stop_seconds": found.get("stop_seconds"),
            "leftovers": found.get("leftovers"), **log_verdict(runner.log_path)}


def log_verdict(log: Path) -> dict[str, Any]:
    """Whether the session was closed, and the runs that never ended."""
    db = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    try:
        closed = db.execute("SELECT ended_wall IS NOT NULL FROM sessions").fetchall()
        runs = [r[0] for r in db.execute("SELECT DISTINCT source FROM events "
                                         "WHERE source LIKE 'run:%'")]
        ended = {r[0] for r in db.execute(
            "SELECT source FROM events WHERE source LIKE 'run:%' AND kind = 'transition' "
            "AND to_state IN ('finished', 'interrupted', 'failed')")}
        stopped = any(db.execute("SELECT 1 FROM events WHERE name = 'RunnerStopped'"))
    finally:
        db.close()
    return {"session_closed": bool(closed) and all(c[0] for c in closed),
            "runner_stopped": stopped, "runs_not_ended": sorted(set(runs) - ended)}


def problems(result: dict[str, Any]) -> list[str]:
    """What is wrong with one round's result (nothing, for a good shutdown)."""
    found = []
    if result["exit_code"] != 0:
        found.append(f"exit code {result['exit_code']}")
    if result["stop_seconds"] is None or result["stop_seconds"] > LIMIT:
        found.append(f"shutdown took {result['stop_seconds']} s")
    if result["leftovers"]:
        found.append(f"left {result['leftovers']}")
    if not (result["session_closed"] and result["runner_stopped"]):
        found.append("the log's session was not closed")
    if result["runs_not_ended"]:
        found.append(f"runs never ended: {result['runs_not_ended']}")
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 20
    seed = int(argv[1]) if len(argv) > 1 else random.randrange(1 << 30)
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="bench-shutdown-"))
    times, failures = [], []
    counts: dict[str, int] = {}
    for _ in range(rounds):
        state = rng.choice(sorted(STATES))
        counts[state] = counts.get(state, 0) + 1
        result = one(state, folder, rng)
        if result["stop_seconds"] is not None:
            times.append(result["stop_seconds"])
        if problems(result):
            failures.append({**result, "problems": problems(result)})
    print(json.dumps({"rounds": rounds, "seed": seed, "states": counts,
                      "max_s": max(times, default=None),
                      "p50_s": percentile(times, 0.5) if times else None,
                      "p99_s": percentile(times, 0.99) if times else None,
                      "failures": failures}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
