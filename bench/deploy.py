"""`python -m bench.deploy [ROUNDS]`: krunner beside the original runner, in the real runner
volume of each agent line (`tools/container.py` `LINES`: 23.9.10 on
backend.ai-krunner-static-gnu 4.1.1, 24.3.11 on 4.3.0), each launched as the agent does (the
volume at /opt/backend.ai, the runner's folders bind-mounted read-only into it,
`/opt/backend.ai/bin/python -s -m ai.backend.kernel python RUNTIME`, cwd `/home/work`).
Per line, krunner's bundle built for that release and the original of that release, in
interleaved rounds of one run. Prints JSON (also written to `build/deploy.json`):

- `first_status_s`: spawn to the first `status` reply (the agent's kernel creation waits for it);
- `first_query_s`: spawn to the output of a first `print(1)` (the Jupyter kernel is up);
- `status_rss_mb`, `query_rss_mb`: the runner process's RSS (not the Jupyter kernel's) then.

Medians over the rounds that worked (`failed_starts` lists any that did not, with the
runner's last words); `ratio` is krunner / original (targets: first status ≤ 0.3, first
query ≤ 1.0). Needs root (see tools/container.py).
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

KEYS = ("first_status_s", "first_query_s", "status_rss_mb", "query_rss_mb")
TARGETS = {"first_status_s": 0.3, "first_query_s": 1.0}


def one_start(kernel: Path, helpers: Path, folder: Path, agent: str) -> dict[str, float]:
    """Launch, time the first status and the first query, read the runner's RSS, stop."""
    work = Path(tempfile.mkdtemp(prefix="work-", dir=folder))
    box = container.launch(kernel, helpers, work, work.with_name(work.name + "-config"),
                           kernel_id=str(uuid.uuid4()), agent=agent)
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


def one_line(agent: str, rounds: int, folder: Path) -> dict[str, Any]:
    """krunner and the original of this release, interleaved, in its volume."""
    bundle = build(folder / f"bundle-{agent}", agent)
    runners = {"krunner": (bundle.kernel, bundle.helpers),
               "original": container.original_mount(agent)}
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
    failed: dict[str, list[str]] = {name: [] for name in runners}
    for folders in runners.values():  # warm the page cache for both
        one_start(*folders, folder, agent)
    for _ in range(rounds):
        for name, folders in runners.items():
            try:
                samples[name].append(one_start(*folders, folder, agent))
            except (RuntimeError, TimeoutError) as e:  # counted and shown, not hidden
                failed[name].append(str(e)[-300:])
    result: dict[str, Any] = {
        key: pair(statistics.median(r[key] for r in samples["krunner"]),
                  statistics.median(r[key] for r in samples["original"]),
                  1 if "rss" in key else 3)
        for key in KEYS}
    result["failed_starts"] = failed
    result["volume"] = f"{bundle.volume.package} (Python {bundle.volume.python_version})"
    result["krunner_version"] = bundle.version
    result["met"] = {key: result[key]["ratio"] <= limit for key, limit in TARGETS.items()}
    return result


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    rounds = int(args[0]) if args else 5
    why = container.usable()
    if why is not None:
        sys.exit(f"bench.deploy: {why}")
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        result: dict[str, Any] = {"rounds": rounds, "targets": TARGETS}
        for agent in container.LINES:
            result[f"backend.ai-agent {agent}"] = one_line(agent, rounds, Path(tmp))
    report(result, "deploy")


if __name__ == "__main__":
    main()
