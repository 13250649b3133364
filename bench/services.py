"""`python -m bench.services`: service and model-health figures, each beside its reference.

- hang: a model server starts hanging; the time until the agent is told `unhealthy`, beside
  `failure_threshold x period`, while a second model's 0.1 s probes are timed meanwhile;
- load: 20 model services probed every 100 ms; the runner's CPU share and the query
  `x=1+1` round trip p50, beside a runner with no model services (interleaved rounds);
- start: `start-service` of a trivial TCP service until the reply `started`, beside the same
  process started directly and polled until its port opens.

Prints one JSON object.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.client import AgentClient
from tools.launch import ROOT, RunnerProcess, start_runner
from tools.ports import free_port

SERVER = [sys.executable, "-m", "tests.health_server"]
TRIVIAL = ("import socket, sys, time\ns = socket.socket()\n"
           "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
           "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\ntime.sleep(3600)\n")
ENV = {"PYTHONPATH": str(ROOT)}



def model(folder: Path, name: str, port: int, control: Path | None, **check: Any
          ) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    command = [*SERVER, str(port), *([str(control)] if control else [])]
    return {"name": name, "model_path": str(folder), "service": {
        "start_command": command, "port": port, "health_check": {"path": "/health", **check}}}


def wait_status(client: AgentClient, name: str, healthy: bool, timeout: float = 60) -> float:
    """The monotonic time the agent receives `name`'s status `healthy` (now, if it came while
    the client waited for another reply)."""
    for i, (kind, data) in enumerate(client.skipped):
        status = json.loads(data) if kind == "model-service-status" else {}
        if status.get("model_name") == name and status.get("is_healthy") is healthy:
            del client.skipped[i]
            return time.monotonic()
    deadline = time.monotonic() + timeout
    while True:
        kind, data = client.recv(max(deadline - time.monotonic(), 0.01), "model-service-status")
        if kind == "model-service-status":
            status = json.loads(data)
            if status["model_name"] == name and status["is_healthy"] is healthy:
                return time.monotonic()


def hang(folder: Path, trials: int = 5, threshold: int = 10, period: float = 0.3
         ) -> dict[str, Any]:
    runner = start_runner(folder, "app", env=ENV)
    client = runner.client()
    control = folder / "hang-now"
    sick = model(folder / "a", "sick", free_port(), control, max_retries=threshold,
                 max_wait_time=period, interval=period)
    good = model(folder / "b", "good", free_port(), None, max_retries=1000,
                 max_wait_time=0.1, interval=0.1)
    try:
        assert client.start_model_service(sick)["status"] == "started"
        assert client.start_model_service(good)["status"] == "started"
        wait_status(client, "sick", True)
        delays, windows = [], []
        for _ in range(trials):
            control.touch()
            began = time.monotonic()
            told = wait_status(client, "sick", False)
            delays.append(told - began)
            windows.append((began, told))
            control.unlink()
            wait_status(client, "sick", True)
    finally:
        runner.stop()
    gaps = good_probe_gaps(runner.log_path, windows)
    expected = threshold * period
    mean = statistics.mean(delays)
    return {"threshold_x_period_s": round(expected, 3),
            "hang_to_unhealthy_s": [round(d, 3) for d in delays],
            "mean_s": round(mean, 3), "mean_over_expected": round(mean / expected, 3),
            "other_model_probe_period_s": 0.1,
            "other_model_gap_while_hanging_s": {"p50": round(statistics.median(gaps), 3),
                                                "max": round(max(gaps), 3),
                                                "count": len(gaps)}}


def good_probe_gaps(log: Path, windows: list[tuple[float, float]]) -> list[float]:
    db = sqlite3.connect(log)
    monos = [r[0] for r in db.execute("SELECT mono FROM events WHERE source = 'model:good' "
                                      "AND name = 'ProbeSucceeded' ORDER BY seq")]
    db.close()
    gaps = []
    for a, b in itertools.pairwise(monos):
        if any(lo <= a and b <= hi for lo, hi in windows):
            gaps.append(b - a)
    return gaps


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(folder: Path, models: int = 20, rounds: int = 200) -> dict[str, Any]:
    busy = start_runner(folder, "python", env=ENV)
    idle = start_runner(folder, "python", env=ENV)
    try:
        bc, ic = busy.client(), idle.client()
        for i in range(models):
            entry = model(folder / f"m{i}", f"m{i}", free_port(), None, max_retries=1000,
                          max_wait_time=1.0, interval=0.1)
            assert bc.start_model_service(entry)["status"] == "started"
        healthy = {f"m{i}" for i in range(models)}
        for kind, data in bc.skipped:  # told while the later starts were being answered
            if kind == "model-service-status" and json.loads(data)["is_healthy"]:
                healthy.discard(json.loads(data)["model_name"])
        while healthy:
            kind, data = bc.recv(60, "model-service-status")
            if kind == "model-service-status" and json.loads(data)["is_healthy"]:
                healthy.discard(json.loads(data)["model_name"])
        bc.query("x=1+1")
        ic.query("x=1+1")
        samples: dict[str, list[float]] = {"busy": [], "idle": []}
        cpu0 = {k: cpu_seconds(r.proc.pid) for k, r in (("busy", busy), ("idle", idle))}
        wall0 = time.monotonic()
        for _ in range(rounds):
            for key, client in (("busy", bc), ("idle", ic)):
                began = time.perf_counter()
                client.query("x=1+1")
                samples[key].append(time.perf_counter() - began)
        wall = time.monotonic() - wall0
        cpu = {k: (cpu_seconds(r.proc.pid) - cpu0[k]) / wall
               for k, r in (("busy", busy), ("idle", idle))}
        time.sleep(0.2)  # the log commits every few milliseconds
        probes = probe_count(busy.log_path, wall0, wall0 + wall)
    finally:
        busy.stop()
        idle.stop()
    p50 = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    return {"models": models, "probe_period_s": 0.1, "rounds": rounds,
            "probes_per_s": round(probes / wall, 1) if wall else None,
            "runner_cpu_share": {k: round(v, 4) for k, v in cpu.items()},
            "query_p50_ms": {k: round(v, 3) for k, v in p50.items()},
            "query_p50_ratio": round(p50["busy"] / p50["idle"], 3)}


def probe_count(log: Path, since: float, until: float) -> int:
    """Probes the runner made between two monotonic times (one clock on one machine)."""
    db = sqlite3.connect(log)
    try:
        return int(db.execute("SELECT count(*) FROM events WHERE name IN "
                              "('ProbeSucceeded', 'ProbeFailed') AND mono BETWEEN ? AND ?",
                              (since, until)).fetchone()[0])
    finally:
        db.close()


def start(folder: Path, rounds: int = 15) -> dict[str, Any]:
    runner = start_runner(folder, "app", env=ENV)
    defs = runner.home / "service-defs"
    (defs / "trivial.json").write_text(json.dumps(
        {"command": [sys.executable, "-c", TRIVIAL, "{ports[0]}"]}))
    runner.stop()
    runner = start_runner(folder, "app", "--service-defs", str(defs), env=ENV)
    client = runner.client()
    via, direct = [], []
    try:
        for _ in range(rounds):
            port = free_port()
            began = time.perf_counter()
            assert client.start_service("trivial", port) == {"status": "started"}
            via.append(time.perf_counter() - began)
            client.shutdown_service("trivial")
            direct.append(started_directly(free_port()))
            wait_stopped(runner)
    finally:
        runner.stop()
    return {"rounds": rounds,
            "start_service_to_started_ms_p50": round(statistics.median(via) * 1000, 1),
            "direct_spawn_to_port_open_ms_p50": round(statistics.median(direct) * 1000, 1),
            "ratio": round(statistics.median(via) / statistics.median(direct), 3)}


def started_directly(port: int) -> float:
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", TRIVIAL, str(port)])
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return time.perf_counter() - began
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait()


def wait_stopped(runner: RunnerProcess, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        db = sqlite3.connect(runner.log_path)
        row = db.execute("SELECT to_state FROM events WHERE source = 'service:trivial' AND "
                         "kind = 'transition' ORDER BY seq DESC LIMIT 1").fetchone()
        db.close()
        if row and row[0] == "stopped":
            return
        time.sleep(0.02)


def main() -> None:
    parts = sys.argv[1:] or ["hang", "load", "start"]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-services-") as tmp:
        for part in parts:
            folder = Path(tmp) / part
            folder.mkdir()
            out[part] = {"hang": hang, "load": load, "start": start}[part](folder)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
