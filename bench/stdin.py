"""`python -m bench.stdin [ROUNDS]`: a run's stdin as a terminal (now) beside a pipe (before).

Two runners of this tree side by side, one whose `os.openpty` fails (a `sitecustomize` on its
PYTHONPATH), so its children get the pipe fallback of runner/stdin_tty.py, as every child did
before. Round by round, interleaved: the agent's `exec "true"` round trip, and the time from
`exec "read a; echo $a"` to its `waiting-input`. Prints JSON: p50/p95 in ms of each.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.client import AgentClient
from tools.launch import ROOT, start_runner

NO_PTY = "import os\n\ndef _no_pty():\n    raise OSError('bench: stdin as a pipe')\n\n" \
         "os.openpty = _no_pty\n"


def timed_round(client: AgentClient) -> tuple[float, float]:
    """(seconds for exec "true", seconds from a reading exec to its waiting-input)."""
    start = time.perf_counter()
    assert client.batch(exec="true").exec_exit == 0
    spawn = time.perf_counter() - start
    start = time.perf_counter()
    client.send("exec", "read a; echo $a")
    client.wait_for("waiting-input")
    asked = time.perf_counter() - start
    client.send("input", "x")
    client.collect("finished")
    return spawn, asked


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {f"p{p}": round(ordered[int(p / 100 * (len(ordered) - 1))] * 1000, 2)
            for p in (50, 95)}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    rounds = int(args[0]) if args else 100
    with tempfile.TemporaryDirectory(prefix="bench-stdin-") as tmp:
        (Path(tmp) / "nopty").mkdir()
        (Path(tmp) / "nopty" / "sitecustomize.py").write_text(NO_PTY)
        runners = {"pty": start_runner(Path(tmp), "python"),
                   "pipe": start_runner(Path(tmp), "python",
                                        env={"PYTHONPATH": f"{tmp}/nopty:{ROOT}"})}
        try:
            clients = {name: r.client(timeout=60) for name, r in runners.items()}
            seen = {name: c.batch(exec="test -t 0 && echo tty || echo pipe").exec.stdout.strip()
                    for name, c in clients.items()}
            assert seen == {"pty": "tty", "pipe": "pipe"}, seen
            spawn: dict[str, list[float]] = {name: [] for name in runners}
            asked: dict[str, list[float]] = {name: [] for name in runners}
            for _ in range(rounds):
                for name, client in clients.items():
                    one, two = timed_round(client)
                    spawn[name].append(one)
                    asked[name].append(two)
        finally:
            for runner in runners.values():
                runner.stop()
    out: dict[str, Any] = {"rounds": rounds, **{name: {
        "exec_true_ms": percentiles(spawn[name]),
        "exec_to_waiting_input_ms": percentiles(asked[name])} for name in runners}}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
