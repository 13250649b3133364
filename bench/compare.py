"""`python -m bench.compare [--quick] [--c-cycle]`: krunner and the original, same workloads.

One run; `--c-cycle` runs only the C batch cycle (clean/build/exec `*` of hello world).

Query round trips are interleaved round by round (krunner, original, krunner, ...) so machine
noise hits both alike; streaming and start-up run one after the other. Prints one JSON object
with each figure for both and the ratio krunner / original (lower is better for times, higher
for throughput), and writes it to build/compare.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.frontend import LINES_CELL, STREAM_BYTES, percentile, rss_mb, timed
from bench.languages import HELLO, agent_cycle, remove_outputs
from bench.original import ROOT, install, start_original
from tools.client import AgentClient
from tools.launch import start_runner
from tools.ports import free_port


def pair(ours: float, theirs: float, digits: int = 3) -> dict[str, float]:
    return {"krunner": round(ours, digits), "original": round(theirs, digits),
            "ratio": round(ours / theirs, 3) if theirs else float("nan")}


def interleaved(clients: list[AgentClient], code: str, rounds: int) -> list[list[float]]:
    for client in clients:
        for _ in range(5):
            client.query(code)
    samples: list[list[float]] = [[] for _ in clients]
    for _ in range(rounds):
        for i, client in enumerate(clients):
            samples[i].append(timed(lambda c=client: c.query(code)))
    return samples


def stream_rate(client: AgentClient) -> tuple[float, int]:
    began = time.perf_counter()
    result = client.batch(exec=f"head -c {STREAM_BYTES} /dev/zero", timeout=300)
    elapsed = time.perf_counter() - began
    received = sum(len(d) for kind, d in result.exec.console if kind == "stdout")
    return received / elapsed / 1e6, STREAM_BYTES - received


def startup_ours(folder: Path) -> tuple[float, float]:
    began = time.perf_counter()
    runner = start_runner(folder)
    runner.client().status()
    elapsed, rss = time.perf_counter() - began, rss_mb(runner.proc.pid)
    runner.stop()
    return elapsed, rss


def startup_original() -> tuple[float, float]:
    inp, out = free_port(), free_port()
    began = time.perf_counter()
    original = start_original(inp, out)
    client = AgentClient("127.0.0.1", inp, out, timeout=60)
    try:
        client.status()
        return time.perf_counter() - began, rss_mb(original.proc.pid)
    finally:
        client.close()
        original.stop()


def c_batch_cycle(folder: Path, rounds: int) -> dict[str, float]:
    """The agent's clean `*` + build `*` + exec `*` of a C hello world, krunner and the
    original (its default runtime, g++) interleaved round by round; milliseconds, p50."""
    ours = start_runner(folder, "c", runtime=None)
    inp, out = free_port(), free_port()
    original = start_original(inp, out, lang="c")
    theirs = AgentClient("127.0.0.1", inp, out, timeout=120)
    try:
        theirs.status()
        ours.client(timeout=120).status()
        places = [ours.work_dir, Path(f"/proc/{original.proc.pid}/root/home/work")]
        clients = [ours.client(), theirs]
        for place in places:
            (place / "main.c").write_text(HELLO["c"][1])
        samples: list[list[float]] = [[], []]
        for i in range(rounds + 2):  # two warm-up rounds
            for n, (place, client) in enumerate(zip(places, clients, strict=True)):
                remove_outputs(place)
                elapsed = agent_cycle(client)
                if i >= 2:
                    samples[n].append(elapsed)
    finally:
        theirs.close()
        original.stop()
        ours.stop()
    return pair(percentile(samples[0], .5) * 1000, percentile(samples[1], .5) * 1000, 1)


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    quick = "--quick" in args
    install()
    rounds = 40 if quick else 200
    if "--c-cycle" in args:  # only the C batch cycle
        with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
            print(json.dumps({"c_batch_cycle_ms": c_batch_cycle(Path(tmp), rounds // 4)},
                             indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        folder = Path(tmp)
        c_cycle = c_batch_cycle(folder, rounds // 4)
        starts = [(startup_ours(folder), startup_original()) for _ in range(3)]
        ours = start_runner(folder)
        inp, out = free_port(), free_port()
        original = start_original(inp, out)
        theirs = AgentClient("127.0.0.1", inp, out, timeout=120)
        mine = ours.client(timeout=120)
        try:
            mine.status()
            theirs.status()
            small = interleaved([mine, theirs], "x=1+1", rounds)
            lines = interleaved([mine, theirs], LINES_CELL, rounds // 5)
            (our_rate, our_lost), (their_rate, their_lost) = stream_rate(mine), stream_rate(theirs)
        finally:
            theirs.close()
            original.stop()
            ours.stop()
    ms = 1000
    result: dict[str, Any] = {
        "query_x_eq_1_plus_1_p50_ms": pair(percentile(small[0], .5) * ms,
                                           percentile(small[1], .5) * ms),
        "query_x_eq_1_plus_1_p99_ms": pair(percentile(small[0], .99) * ms,
                                           percentile(small[1], .99) * ms),
        "query_1000_lines_p50_ms": pair(percentile(lines[0], .5) * ms,
                                        percentile(lines[1], .5) * ms),
        "stream_50mb_mb_per_s": pair(our_rate, their_rate, 1),
        "stream_50mb_bytes_lost": {"krunner": our_lost, "original": their_lost},
        "first_status_s": pair(percentile([s[0][0] for s in starts], .5),
                               percentile([s[1][0] for s in starts], .5)),
        "runner_rss_mb": pair(percentile([s[0][1] for s in starts], .5),
                              percentile([s[1][1] for s in starts], .5), 1),
        "c_batch_cycle_ms": c_cycle,
        "rounds": rounds,
    }
    report(result, "compare")


def report(result: dict[str, Any], name: str) -> None:
    """Print the figures as JSON and keep them in `build/<name>.json`."""
    text = json.dumps(result, indent=2)
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / f"{name}.json").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
