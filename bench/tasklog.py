"""`python -m bench.tasklog [ROUNDS]`: batch output with and without the task log, one run.

Two runners side by side, one whose work folder holds a `.logs` folder (so every batch
child's output is also appended to the task log, runner/tasklog.py) and one without; each
round streams 50 MB through both and through a bare pipe (bench.frontend's streams), so
machine noise hits all three alike. Prints JSON: MB/s of each, medians, and their ratio.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bench.frontend import STREAM_BYTES, STREAMS, bare_pipe, through_runner
from tools.launch import start_runner


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    rounds = int(args[0]) if args else 5
    out: dict[str, Any] = {"rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="bench-tasklog-") as tmp:
        kernel_id = str(uuid.uuid4())
        env = {"BACKENDAI_KERNEL_ID": kernel_id}
        plain = start_runner(Path(tmp), "python", env=env)
        logged = start_runner(Path(tmp), "python", env=env)
        (logged.work_dir / ".logs").mkdir()
        try:
            for name, command in STREAMS.items():
                speeds: dict[str, list[float]] = {"bare_pipe": [], "without": [], "with": []}
                for _ in range(rounds):
                    speeds["bare_pipe"].append(bare_pipe(command))
                    speeds["without"].append(through_runner(plain, command)["mb_per_s"])
                    speeds["with"].append(through_runner(logged, command)["mb_per_s"])
                medians = {k: round(statistics.median(v), 1) for k, v in speeds.items()}
                out[f"stream_50mb_{name}"] = {
                    "mb_per_s": {k: [round(x, 1) for x in v] for k, v in speeds.items()},
                    "median_mb_per_s": medians,
                    "with_vs_without": round(medians["with"] / medians["without"], 3)}
        finally:
            plain.stop()
            logged.stop()
        h = uuid.UUID(kernel_id).hex
        copied = logged.work_dir / ".logs" / "task" / h[:2] / h[2:4] / f"{h[4:]}.log"
        out["task_log_bytes"] = copied.stat().st_size
        out["task_log_expected_bytes"] = STREAM_BYTES * rounds * len(STREAMS)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
