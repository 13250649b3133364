"""`python -m bench.frontend`: krunner's hot paths beside their floor, measured in one run.

- query `x=1+1` and a 1000-line cell through krunner (agent client -> ZeroMQ -> runner ->
  ipykernel), interleaved round by round with the floor: jupyter-client's own execute round
  trip against a bare ipykernel, so machine noise hits both alike;
- stream: 50 MB from one batch command, five times, each beside the same command into a bare
  pipe: MB/s at the client, the slowest run against the pipe, bytes lost, message size (for a
  program writing 8 KiB blocks and for /dev/zero); `--stream` runs only this;
- startup: spawn to first `status` reply, and the runner's RSS without its Jupyter kernel.

Prints one JSON object.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
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


# The same 50 MB two ways: a program writing 8 KiB blocks (Python's stdout buffer, like most
# programs' stdio), slower than the runner can read, and /dev/zero in 64 KiB blocks.
STREAMS = {
    "program_8k_writes": ("env -u PYTHONUNBUFFERED python3 -c \"import sys\nline = 'x' * 99"
                          f"\nfor _ in range({STREAM_BYTES // 100}): print(line)\""),
    "dev_zero": f"head -c {STREAM_BYTES} /dev/zero",
}
STREAM_ROUNDS = 5


def bare_pipe(command: str) -> float:
    """MB/s of `command` read from a plain pipe in 64 KiB reads: the floor."""
    began = time.perf_counter()
    proc = subprocess.Popen(command, shell=True, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    received = 0
    while chunk := proc.stdout.read1(65536):
        received += len(chunk)
    proc.wait()
    assert received == STREAM_BYTES, f"the bare pipe got {received} bytes"
    return received / (time.perf_counter() - began) / 1e6


def through_runner(runner: RunnerProcess, command: str) -> dict[str, Any]:
    """One batch exec of `command` as the agent sees it: MB/s, bytes lost, messages."""
    began = time.perf_counter()
    result = runner.client().batch(exec=command)
    elapsed = time.perf_counter() - began
    chunks = [len(d) for kind, d in result.exec.console if kind == "stdout"]
    assert result.exec_exit == 0, result.exec.stderr
    return {"mb_per_s": sum(chunks) / elapsed / 1e6, "bytes_lost": STREAM_BYTES - sum(chunks),
            "messages": len(chunks)}


def stream(runner: RunnerProcess, command: str, rounds: int = STREAM_ROUNDS) -> dict[str, Any]:
    """`rounds` runs through krunner, each beside the bare pipe; the slowest against the floor."""
    ours, floor = [], []
    for _ in range(rounds):
        floor.append(bare_pipe(command))
        ours.append(through_runner(runner, command))
    speeds = [r["mb_per_s"] for r in ours]
    bare = percentile(floor, 0.5)
    messages = sum(r["messages"] for r in ours)
    return {"krunner_mb_per_s": [round(x, 1) for x in speeds],
            "bare_pipe_mb_per_s": [round(x, 1) for x in floor],
            "slowest_vs_bare_pipe": round(min(speeds) / bare, 3),
            "fastest_vs_bare_pipe": round(max(speeds) / bare, 3),
            "bytes_lost": sum(r["bytes_lost"] for r in ours),
            "message_kib_avg": round(STREAM_BYTES * rounds / messages / 1024, 1)}


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
    args = argv if argv is not None else sys.argv[1:]
    quick, streams_only = "--quick" in args, "--stream" in args
    with tempfile.TemporaryDirectory(prefix="bench-frontend-") as tmp:
        folder = Path(tmp)
        out: dict[str, Any] = {} if streams_only else {
            "startup": startup(folder, 3 if quick else 5)}
        runner = start_runner(folder)
        runner.client().query("1")  # the Jupyter kernel is up: its start takes no CPU later
        try:
            if not streams_only:
                out["query_x_eq_1_plus_1"] = side_by_side(runner, "x=1+1", 50 if quick else 300)
                out["query_1000_lines"] = side_by_side(runner, LINES_CELL, 10 if quick else 50)
            for name, command in STREAMS.items():
                out[f"stream_50mb_{name}"] = stream(runner, command)
        finally:
            runner.stop()
        out["stream_bytes_in_log"] = bytes_in_log(runner.log_path)
        out["targets"] = {"query_p50_ratio": 1.15, "stream_slowest_vs_bare_pipe": 0.7,
                          "first_status_s": 0.3, "runner_rss_mb": 50}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
