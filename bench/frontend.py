"""`python -m bench.frontend`: krunner's hot paths beside their floor, measured in one run.

- query `x=1+1` and a 1000-line cell through krunner (agent client -> ZeroMQ -> runner ->
  ipykernel), interleaved round by round with the floor: jupyter-client's own execute round
  trip against a bare ipykernel, so machine noise hits both alike;
- stream: one batch command printing 50 MB: MB/s at the client, bytes lost, bytes in the log;
- startup: spawn to first `status` reply, and the runner's RSS without its Jupyter kernel.

Prints one JSON object.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel

from tools.launch import RunnerProcess, start_runner

STREAM_BYTES = 50 * 1024 * 1024
LINES_CELL = "for i in range(1000): print(i)"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(len(ordered) * p), len(ordered) - 1)]


def figures(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(samples, 0.5) * 1000, 3),
            "p99_ms": round(percentile(samples, 0.99) * 1000, 3)}


def timed(action: Callable[[], Any]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def side_by_side(runner: RunnerProcess, code: str, rounds: int) -> dict[str, Any]:
    """Alternate one krunner query and one floor execute, `rounds` times each."""
    client = runner.client()
    km, kc = start_new_kernel()
    try:
        for _ in range(10):  # warm both
            client.query(code)
            kc.execute_interactive(code, output_hook=lambda msg: None)
        ours, floor = [], []
        for _ in range(rounds):
            ours.append(timed(lambda: client.query(code)))
            floor.append(timed(lambda: kc.execute_interactive(code,
                                                              output_hook=lambda msg: None)))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    result = {"krunner": figures(ours), "floor": figures(floor)}
    result["p50_ratio"] = round(result["krunner"]["p50_ms"] / result["floor"]["p50_ms"], 3)
    return result


def stream(runner: RunnerProcess) -> dict[str, Any]:
    client = runner.client()
    began = time.perf_counter()
    result = client.batch(exec=f"head -c {STREAM_BYTES} /dev/zero")
    elapsed = time.perf_counter() - began
    received = sum(len(d) for kind, d in result.exec.console if kind == "stdout")
    return {"mb_per_s": round(received / elapsed / 1e6, 1), "bytes_lost": STREAM_BYTES - received,
            "exit_code": result.exec_exit}


def bytes_in_log(log_path: Path) -> int:
    db = sqlite3.connect(log_path)
    try:
        return int(db.execute("SELECT coalesce(sum(length(data)), 0) FROM events "
                              "WHERE kind = 'output' AND name = 'stdout'").fetchone()[0])
    finally:
        db.close()


def startup(folder: Path, rounds: int = 5) -> dict[str, Any]:
    """Spawn to first status (median of `rounds`), and RSS of the runner process itself."""
    times, rss = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        runner = start_runner(folder)
        runner.client().status()
        times.append(time.perf_counter() - began)
        rss.append(rss_mb(runner.proc.pid))
        runner.stop()
    return {"first_status_s": round(percentile(times, 0.5), 3),
            "runner_rss_mb": round(percentile(rss, 0.5), 1)}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> None:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="bench-frontend-") as tmp:
        folder = Path(tmp)
        out: dict[str, Any] = {"startup": startup(folder, 3 if quick else 5)}
        runner = start_runner(folder)
        runner.client().status()
        try:
            out["query_x_eq_1_plus_1"] = side_by_side(runner, "x=1+1", 50 if quick else 300)
            out["query_1000_lines"] = side_by_side(runner, LINES_CELL, 10 if quick else 50)
            out["stream_50mb"] = stream(runner)
        finally:
            runner.stop()
        out["stream_50mb"]["bytes_in_log"] = bytes_in_log(runner.log_path)
        out["targets"] = {"query_p50_ratio": 1.15, "stream_mb_per_s": 70,
                          "first_status_s": 0.3, "runner_rss_mb": 50}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
