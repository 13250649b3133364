"""`python -m bench.inspect [EVENTS] [--mixes calm,flapping]`: the support tools on big logs,
as one JSON object.

For each mix of `bench.mixes` it builds one session of EVENTS events (default 1,000,000) as a
runner records it, then runs each tool in a fresh process (times include Python's start;
CPU seconds beside wall seconds, since the machine is shared) and reads its peak RSS:
- `count(*)` of the log (`bench.count`), the baseline;
- `inspect health` as JSON and as a table, beside the tool as of commit BEFORE (main before
  issue 17);
- a transcript: export, verify, import, offline replay (events/s, beside BEFORE's replay of
  BEFORE's export), and `report` to HTML;
- the report's open time in headless chromium (`bench.report_open`), with a report of a
  10,000-event session of the same mix beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.mixes import MIXES
from bench.report_open import open_times
from transcripts import synthetic
from transcripts.store import EventLog

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "46777f3"  # main before issue 17: the quadratic health, replay through transitions
SMALL = 10_000


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
    p = argparse.ArgumentParser(prog="bench.inspect")
    p.add_argument("events", nargs="?", type=int, default=1_000_000)
    p.add_argument("--mixes", default=",".join(MIXES))
    args = p.parse_args(argv)
    result: dict[str, Any] = {"before": BEFORE}
    with tempfile.TemporaryDirectory(prefix="bench-inspect-") as tmp:
        folder = Path(tmp)
        before = old_tree(folder)
        try:
            for mix in args.mixes.split(","):
                result[mix] = one_mix(folder / mix, mix, args.events, before)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(before)], check=False, capture_output=True)
    print(json.dumps(result, indent=2))
    return 0


def one_mix(folder: Path, mix: str, total: int, before: Path) -> dict[str, Any]:
    folder.mkdir()
    log, small = folder / "events.sqlite3", folder / "small.sqlite3"
    began = time.perf_counter()
    events = build(log, total, mix)
    r: dict[str, Any] = {"events": events, "log_mb": round(log.stat().st_size / 2**20, 1),
                         "build_s": round(time.perf_counter() - began, 1)}
    r |= health(log, before)
    r |= transcripts(folder, log, before, events)
    build(small, SMALL, mix)
    small_html = folder / "small.html"
    measured(["t", "report", "--log", str(small), "-o", str(small_html), "--quiet"],
             "tools.transcript")
    r["report_open"] = open_times({f"{SMALL} events": small_html,
                                   f"{events} events": folder / "report.html"})
    return r


def health(log: Path, before: Path) -> dict[str, Any]:
    """`health` beside `count(*)` on the same file, one after the other."""
    return {
        "count": measured(["count", str(log)], "bench.count"),
        "health_json_now": measured(["inspect", "--log", str(log), "health", "--format",
                                     "json"], "tools.inspect"),
        "health_table_now": measured(["inspect", "--log", str(log), "health"],
                                     "tools.inspect"),
        "health_json_before": measured(["inspect", "--log", str(log), "health", "--format",
                                        "json"], "tools.inspect", path=str(before)),
    }


def transcripts(folder: Path, log: Path, before: Path, events: int) -> dict[str, Any]:
    new_t, old_t = folder / "now.jsonl", folder / "before.jsonl"
    old = str(before)
    r: dict[str, Any] = {
        "export_now": measured(["t", "export", "--log", str(log), "--out", str(new_t)],
                               "tools.transcript"),
        "export_before": measured(["t", "export", "--log", str(log), "--out", str(old_t)],
                                  "tools.transcript", path=old),
        "verify_now": measured(["t", "verify", str(new_t)], "tools.transcript"),
        "import_now": measured(["t", "import", str(new_t), "--log", str(folder / "a.sqlite3")],
                               "tools.transcript"),
        "replay_now": measured(["r", "offline", "--transcript", str(new_t), "--format", "json"],
                               "tools.replay"),
        "replay_before": measured(["r", "offline", "--transcript", str(old_t), "--format",
                                   "json"], "tools.replay", path=old),
        "report_now": measured(["t", "report", str(new_t), "-o", str(folder / "report.html"),
                                "--quiet"], "tools.transcript"),
    }
    for key in ("verify_now", "import_now", "replay_now", "replay_before", "report_now"):
        r[key]["events_per_s"] = round(events / r[key]["inside_s"])
        r[key]["events_per_cpu_s"] = round(events / r[key]["cpu_s"])
    r["replay_speedup_cpu"] = round(r["replay_before"]["cpu_s"] / r["replay_now"]["cpu_s"], 2)
    r["transcript_mb"] = round(new_t.stat().st_size / 2**20, 1)
    return r


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
