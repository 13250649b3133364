"""`python -m bench.flood [GIB]`: a batch program printing GIB gibibytes, the runner's memory.

Twice: once with an agent that reads as fast as it can (MB/s, bytes received, the runner's
peak RSS), once with an agent that reads nothing for 5 s (the runner's RSS then, and every
byte once it reads again). The runner's RSS excludes its children; the bound it keeps is
16 MiB of ZeroMQ queue, 4 MiB of backlog and 8 MiB of recorded output per run, held by
back-pressure on the child's pipe. Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.frontend import rss_mb
from tools.client import AgentClient
from tools.launch import start_runner

GIB = 1 << 30
STALL = 5.0


class RssWatch:
    """Samples a process's RSS in the background; `stop()` gives the largest seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def drain_exec(client: AgentClient, limit: float = 300) -> tuple[int, int]:
    """stdout bytes received until `finished`, and its exit code."""
    received = 0
    deadline = time.monotonic() + limit
    while True:
        kind, data = client.recv(max(deadline - time.monotonic(), 0.1), waiting_for="finished")
        if kind == "stdout":
            received += len(data)
        elif kind == "finished":
            return received, json.loads(data)["exitCode"]


def flood(size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        runner = start_runner(Path(tmp))
        client = runner.client(timeout=120)
        try:
            client.status()
            watch = RssWatch(runner.proc.pid)
            began = time.perf_counter()
            client.send("exec", f"head -c {size} /dev/zero")
            received, code = drain_exec(client)
            elapsed = time.perf_counter() - began
            reading = {"bytes_sent": size, "bytes_received": received, "exit_code": code,
                       "mb_per_s": round(received / elapsed / 1e6, 1),
                       "runner_peak_rss_mb": round(watch.stop(), 1)}
            client.send("exec", f"head -c {size} /dev/zero")
            time.sleep(STALL)  # the agent reads nothing meanwhile
            held = rss_mb(runner.proc.pid)
            received, code = drain_exec(client)
            stalled = {"seconds_without_reading": STALL, "runner_rss_mb": round(held, 1),
                       "bytes_received_after": received, "exit_code": code}
        finally:
            runner.stop()
    return {"reading_agent": reading, "agent_that_stops_reading": stalled}


if __name__ == "__main__":
    gib = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    print(json.dumps(flood(int(gib * GIB)), indent=2))
