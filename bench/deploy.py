"""`python -m bench.deploy [ROUNDS]`: krunner and the original 23.9.10, each launched from the
reproduced container layout (`tools/container.py`: the volume's Python with only the original's
dependencies, the agent's read-only bind mounts, `python -s -m ai.backend.kernel python
RUNTIME`, cwd `/home/work`), in interleaved rounds of one run. Prints JSON (also written to
`build/deploy.json`):

- `first_status_s`: spawn to the first `status` reply (the agent's kernel creation waits for it);
- `first_query_s`: spawn to the output of a first `print(1)` (the Jupyter kernel is up);
- `runner_rss_mb`: the runner process's RSS (not the Jupyter kernel's) at each of those points.

Medians over the rounds; `ratio` is krunner / original. Needs root (see tools/container.py).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.compare import pair, report
from bench.frontend import rss_mb
from tools import container
from tools.bundle import build
from tools.client import AgentClient

ROOT = Path(__file__).resolve().parent.parent


def one_start(kernel: Path, helpers: Path, folder: Path) -> dict[str, float]:
    """Launch, time the first status and the first query, read the runner's RSS, stop."""
    work = Path(tempfile.mkdtemp(prefix="work-", dir=folder))
    box = container.launch(kernel, helpers, work, work.with_name(work.name + "-config"),
                           kernel_id=str(uuid.uuid4()))
    client = AgentClient("127.0.0.1", box.input_port, box.output_port, timeout=120)
    try:
        client.status()
        status_s, status_rss = time.perf_counter() - box.spawned_at, rss_mb(box.proc.pid)
        if client.query("print(1)").stdout != "1\n":
            raise RuntimeError(f"the first query failed: {box.stderr_text()[-2000:]}")
        query_s, query_rss = time.perf_counter() - box.spawned_at, rss_mb(box.proc.pid)
    finally:
        client.close()
        box.stop(timeout=15)
    return {"first_status_s": status_s, "first_query_s": query_s,
            "status_rss_mb": status_rss, "query_rss_mb": query_rss}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    rounds = int(args[0]) if args else 5
    why = container.usable()
    if why is not None:
        sys.exit(f"bench.deploy: {why}")
    original = container.original_mount()
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        folder = Path(tmp)
        bundle = build(folder / "bundle")
        one_start(bundle.kernel, bundle.helpers, folder)  # warm the page cache for both
        one_start(*original, folder)
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(one_start(bundle.kernel, bundle.helpers, folder))
            theirs.append(one_start(*original, folder))
    result: dict[str, Any] = {
        key: pair(statistics.median(r[key] for r in ours),
                  statistics.median(r[key] for r in theirs), 1 if "rss" in key else 3)
        for key in ("first_status_s", "first_query_s", "status_rss_mb", "query_rss_mb")}
    result["rounds"] = rounds
    result["krunner_version"] = bundle.version
    report(result, "deploy")


if __name__ == "__main__":
    main()
