"""`python -m bench.inspect [EVENTS]`: the support tools on a big log, as one JSON object.

Builds one session of EVENTS events (default 1,000,000) as a long-lived runner records it: a
model service probed every 10 s for weeks, flapping now and then, beside many small runs
with their output. Then, each in a fresh process (times include Python's start):
- `inspect health --format json` now, beside the tool as it was before (commit c20cdc5,
  which printed every probe row);
- a transcript of the session: export, `verify`, `import` into a new log, and offline replay
  from the transcript: events/s and peak RSS, now (v2, streamed, checked) beside before (v1,
  held in memory, unchecked: the code of commit c20cdc5).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from machines import vocabulary as v
from transcripts import synthetic
from transcripts.events import INPUT, OBSERVATION, OUTPUT, Event
from transcripts.store import EventLog

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "c20cdc5"  # main before this work: the old inspect and transcript modules


def stream(seed: int = 7) -> Iterator[Event]:
    """About a third probes of one model, the rest runs; stamped 10 s apart per probe."""
    rng = random.Random(seed)
    t = 1_760_000_000.0
    model = "model:llm"
    yield Event(model, OBSERVATION, v.MODEL_CONFIGURED, {"period": 10.0, "failure_threshold": 3},
                wall=t, mono=t)
    run, down_until = 0, 0.0
    while True:  # the caller stops when the log holds `total`
        t += 10.0
        if down_until < t and rng.random() < 0.0005:
            down_until = t + rng.uniform(30, 1800)  # an outage of 30 s to 30 min
        if t < down_until:
            yield Event(model, OBSERVATION, v.PROBE_FAILED, {
                "reason": rng.choice(["connection refused", "timed out after 5 s",
                                      "status 503, expected 200"]),
                "status": None, "latency_ms": round(rng.uniform(0.2, 5000), 3)}, wall=t, mono=t)
        else:
            yield Event(model, OBSERVATION, v.PROBE_SUCCEEDED, {
                "status": 200, "latency_ms": round(rng.lognormvariate(1.5, 0.6), 3)},
                wall=t, mono=t)
        run += 1
        src = f"run:{run}"
        yield Event(src, INPUT, "code", f"print({run})".encode(), wall=t + 1, mono=t + 1)
        yield Event(src, OBSERVATION, v.RUN_STARTED, {"op": "code"}, wall=t + 1, mono=t + 1)
        yield Event(src, OUTPUT, "stdout", f"{run}\n".encode(), wall=t + 2, mono=t + 2)
        yield Event(src, OBSERVATION, v.RUN_ENDED, {"exit_code": 0, "failed": False,
                                                    "reason": None}, wall=t + 2, mono=t + 2)
        yield Event(src, OUTPUT, "finished", b'{"exitCode": 0}', wall=t + 2, mono=t + 2)


def runs(t: float, first: int) -> Iterator[Event]:
    """One small code run at `t`: its op, start, output, end and terminal message."""
    src = f"run:{first}"
    yield Event(src, INPUT, "code", f"print({first})".encode(), wall=t + 1, mono=t + 1)
    yield Event(src, OBSERVATION, v.RUN_STARTED, {"op": "code"}, wall=t + 1, mono=t + 1)
    yield Event(src, OUTPUT, "stdout", f"{first}\n".encode(), wall=t + 2, mono=t + 2)
    yield Event(src, OBSERVATION, v.RUN_ENDED, {"exit_code": 0, "failed": False,
                                                "reason": None}, wall=t + 2, mono=t + 2)
    yield Event(src, OUTPUT, "finished", b'{"exitCode": 0}', wall=t + 2, mono=t + 2)


def flapping(seed: int = 11) -> Iterator[Event]:
    """The session of issue 17: a model probed about every 1.2 s for three days that goes
    down every 25 s or so (three failed probes, or its process exits, then it recovers),
    beside small runs: about 40 % of the events are the model's, 20,000 flaps a million."""
    rng = random.Random(seed)
    t = 1_760_000_000.0
    model = "model:llm"
    yield Event(model, OBSERVATION, v.MODEL_CONFIGURED, {"period": 1.2, "failure_threshold": 3},
                wall=t, mono=t)
    run = 0
    while True:  # the caller stops when the log holds `total`
        for _ in range(rng.randint(5, 12)):  # healthy for a while
            t += 1.2
            yield _probe(rng, model, t, ok=True)
            if rng.random() < 0.35:
                run += 1
                yield from runs(t, run)
        if rng.random() < 0.2:
            t += 0.3
            yield Event(model, OBSERVATION, v.PROCESS_EXITED, {"exit_code": 137, "pid": 4242},
                        wall=t, mono=t)
        for _ in range(rng.randint(3, 6)):  # down
            t += 1.2
            yield _probe(rng, model, t, ok=False)


def _probe(rng: random.Random, model: str, t: float, ok: bool) -> Event:
    if ok:
        return Event(model, OBSERVATION, v.PROBE_SUCCEEDED, {
            "status": 200, "latency_ms": round(rng.lognormvariate(1.5, 0.6), 3)}, wall=t, mono=t)
    return Event(model, OBSERVATION, v.PROBE_FAILED, {
        "reason": rng.choice(["connection refused", "timed out after 5 s",
                              "status 503, expected 200"]),
        "status": None, "latency_ms": round(rng.uniform(0.2, 5000), 3)}, wall=t, mono=t)


MIXES = {"calm": stream, "flapping": flapping}


def build(path: Path, total: int, mix: str = "calm") -> int:
    log = EventLog(path, batch_events=20_000)
    log.open_session(kernel_id="bench", language="python")
    for _ in synthetic.record_timed(log, MIXES[mix]()):
        if log.stats.appended >= total:
            break
    log.flush(None)  # the producer outran the writer: let it catch up before closing
    log.close()
    return log.stats.written


MEASURE = """
import json, resource, runpy, sys, time
sys.argv = {argv!r}
began = time.perf_counter()
try:
    runpy.run_module({module!r}, run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code
else:
    code = 0
elapsed = time.perf_counter() - began
use = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({{"seconds": elapsed, "exit": code, "cpu": use.ru_utime + use.ru_stime,
                  "peak_rss_mb": peak / 1024}}), file=sys.stderr)
"""


def measured(argv: list[str], module: str, path: str = "") -> dict[str, Any]:
    """Run a tool in a fresh process, stdout discarded; its time (from process start to
    end, and inside) and its peak RSS."""
    script = MEASURE.format(argv=argv, module=module)
    where = path or str(ROOT)  # `python -c` puts its folder first on sys.path
    env = {**os.environ, "PYTHONPATH": where}
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, cwd=where, env=env, check=False)
    total = time.perf_counter() - began
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    return {"process_s": round(total, 3), "inside_s": round(figures["seconds"], 3),
            "cpu_s": round(figures["cpu"], 3), "exit": figures["exit"],
            "peak_rss_mb": round(figures["peak_rss_mb"], 1)}


def old_tree(folder: Path) -> Path:
    """The tools as they were (commit BEFORE), importable from a folder of their own."""
    tree = folder / "before"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), BEFORE],
                   check=True, capture_output=True)
    return tree


def main(argv: list[str]) -> int:
    total = int(argv[0]) if argv else 1_000_000
    with tempfile.TemporaryDirectory(prefix="bench-inspect-") as tmp:
        folder = Path(tmp)
        log = folder / "events.sqlite3"
        began = time.perf_counter()
        events = build(log, total)
        result: dict[str, Any] = {"events": events, "log_mb": round(log.stat().st_size / 2**20, 1),
                                  "build_s": round(time.perf_counter() - began, 1)}
        before = old_tree(folder)
        try:
            result |= compare(folder, log, before, events)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(before)], check=False, capture_output=True)
    print(json.dumps(result, indent=2))
    return 0


def compare(folder: Path, log: Path, before: Path, events: int) -> dict[str, Any]:
    new_t, old_t = folder / "now.jsonl", folder / "before.jsonl"
    old = str(before)
    r: dict[str, Any] = {
        "health_now": measured(["inspect", "--log", str(log), "health", "--format", "json"],
                               "tools.inspect"),
        "health_before": measured(["inspect", "--log", str(log), "--format", "json",
                                   "health"], "tools.inspect", path=old),
        "export_now": measured(["t", "export", "--log", str(log), "--out", str(new_t)],
                               "tools.transcript"),
        "export_before": measured(["t", "export", "--log", str(log), "--out", str(old_t)],
                                  "tools.transcript", path=old),
        "verify_now": measured(["t", "verify", str(new_t)], "tools.transcript"),
        "import_now": measured(["t", "import", str(new_t), "--log", str(folder / "a.sqlite3")],
                               "tools.transcript"),
        "import_before": measured(["t", "import", str(old_t), "--log",
                                   str(folder / "b.sqlite3")], "tools.transcript", path=old),
        "replay_now": measured(["r", "offline", "--transcript", str(new_t), "--format", "json"],
                               "tools.replay"),
        "replay_before": measured(["r", "offline", "--transcript", str(old_t), "--format",
                                   "json"], "tools.replay", path=old),
    }
    for key in ("import_now", "import_before", "replay_now", "replay_before", "verify_now"):
        r[key]["events_per_s"] = round(events / r[key]["inside_s"])
        r[key]["events_per_cpu_s"] = round(events / r[key]["cpu_s"])
    r["health_speedup"] = round(r["health_before"]["process_s"] / r["health_now"]["process_s"], 1)
    r["transcript_mb"] = {"now": round(new_t.stat().st_size / 2**20, 1),
                          "before": round(old_t.stat().st_size / 2**20, 1)}
    return r


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
