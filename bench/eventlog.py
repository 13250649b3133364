"""`python -m bench.eventlog`: the event log's figures, as one JSON object.

append throughput (small events, 1 KiB output chunks) until committed; the cost of one
`append()` on an asyncio loop; flush latency; offline replay speed; and the two insert paths
(stdlib sqlite3 `executemany` vs sqlite-utils `insert_all`) side by side.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import sqlite_utils

from machines import vocabulary as v
from transcripts import schema
from transcripts.events import INPUT, OBSERVATION, OUTPUT, Event
from transcripts.reader import encode, events, open_readonly
from transcripts.replay import record, replay_session
from transcripts.store import INSERT, EventLog


def _fresh(folder: Path, name: str) -> EventLog:
    log = EventLog(folder / f"{name}.sqlite3")
    log.open_session(kernel_id="bench", language="python")
    return log


def throughput(folder: Path, name: str, make: list[Event]) -> float:
    """Events per second from the first append until the last one is committed."""
    log = _fresh(folder, name)
    began = time.perf_counter()
    for event in make:
        log.append(event)
    log.flush(None)
    elapsed = time.perf_counter() - began
    log.close()
    return len(make) / elapsed


def append_cost(folder: Path, samples: int = 200_000) -> dict[str, float]:
    """One append() as the runner calls it on its loop (the writer commits meanwhile)."""
    log = _fresh(folder, "cost")
    costs: list[int] = []

    async def produce() -> None:
        clock = time.perf_counter_ns
        for i in range(samples):
            event = Event("run:1", OBSERVATION, "Tick", {"i": i}, wall=1.0, mono=1.0)
            t0 = clock()
            log.append(event)
            costs.append(clock() - t0)
            if i % 1000 == 0:
                await asyncio.sleep(0)

    asyncio.run(produce())
    log.close()
    costs.sort()
    return {"p50_us": costs[len(costs) // 2] / 1000, "p99_us": costs[len(costs) * 99 // 100]
            / 1000}


def flush_latency(folder: Path, rounds: int = 200) -> dict[str, float]:
    log = _fresh(folder, "flush")
    times = []
    for i in range(rounds):
        log.append(Event("kernel", OBSERVATION, "Tick", {"i": i}))
        t0 = time.perf_counter()
        log.flush(None)
        times.append((time.perf_counter() - t0) * 1000)
    log.close()
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[len(times) * 99 // 100]}


def session_events(n_runs: int) -> list[Event]:
    """A realistic mix: per run an input, start, output chunks, end; model probes between."""
    stream: list[Event] = [Event("kernel", OBSERVATION, "RunnerStarted"),
                           Event("kernel", OBSERVATION, v.DRIVER_READY),
                           Event("model:m", OBSERVATION, v.MODEL_CONFIGURED,
                                 {"failure_threshold": 3})]
    for i in range(1, n_runs + 1):
        src = f"run:{i}"
        stream += [Event(src, INPUT, "code", b"print(1)"),
                   Event(src, OBSERVATION, v.RUN_STARTED, {"op": "code"}),
                   *[Event(src, OUTPUT, "stdout", b"x" * 64) for _ in range(4)],
                   Event(src, OBSERVATION, v.RUN_ENDED, {"exit_code": 0, "failed": False}),
                   Event(src, OUTPUT, "finished", b'{"exitCode": 0}'),
                   Event("model:m", OBSERVATION, v.PROBE_SUCCEEDED if i % 7 else v.PROBE_FAILED,
                         {"status": 200, "latency_ms": 1.0})]
    return stream


def replay_speed(folder: Path) -> dict[str, float]:
    """Events per second through offline replay of a recorded mixed session (read included)."""
    log = _fresh(folder, "replay")
    record(log, session_events(20_000))
    log.close()
    conn = open_readonly(log.path)
    t0 = time.perf_counter()
    count = sum(1 for _ in events(conn, log.session))
    read = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = replay_session(conn, log.session)
    total = time.perf_counter() - t0
    assert report.ok, report.divergence
    return {"events": report.events, "replay_events_per_s": report.events / total,
            "read_decode_events_per_s": count / read,
            "machine_inputs_per_s": report.fed / total}


def insert_paths(folder: Path, n: int = 100_000) -> dict[str, float]:
    """The writer's insert, both ways, same schema and rows: stdlib executemany vs sqlite-utils."""
    rows = [(1, 1.0, 1.0, "kernel", "observation", "Tick", None, None, encode({"i": i}))
            for i in range(n)]
    columns = ["session", "wall", "mono", "source", "kind", "name", "from_state", "to_state",
               "data"]
    rates = {}
    for name in ("sqlite3_executemany", "sqlite_utils_insert_all"):
        conn = sqlite3.connect(folder / f"{name}.sqlite3", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        schema.create(conn)
        conn.execute("INSERT INTO sessions (id, started_wall) VALUES ('s', 0)")
        table = sqlite_utils.Database(conn)["events"]
        dicts = [dict(zip(columns, row, strict=True)) for row in rows]
        began = time.perf_counter()
        for i in range(0, n, 2000):
            conn.execute("BEGIN")
            if name == "sqlite3_executemany":
                conn.executemany(INSERT, rows[i:i + 2000])
            else:
                table.insert_all(dicts[i:i + 2000], batch_size=2000)
            conn.execute("COMMIT")
        rates[f"{name}_rows_per_s"] = round(n / (time.perf_counter() - began))
        conn.close()
    return rates


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-eventlog-") as tmp:
        folder = Path(tmp)
        small = [Event("kernel", OBSERVATION, "Tick", {"i": i}, wall=1.0, mono=1.0)
                 for i in range(300_000)]
        chunks = [Event("run:1", OUTPUT, "stdout", b"y" * 1024, wall=1.0, mono=1.0)
                  for _ in range(100_000)]
        small_rate = throughput(folder, "small", small)
        chunk_rate = throughput(folder, "chunks", chunks)
        figures = {
            "small_events_per_s": round(small_rate),
            "output_1k_chunks_per_s": round(chunk_rate),
            "output_1k_mb_per_s": round(chunk_rate * 1024 / 1e6, 1),
            "append_on_loop": append_cost(folder),
            "flush": flush_latency(folder),
            "replay": replay_speed(folder),
            "insert_path": insert_paths(folder),
            "targets": {"small_events_per_s": 100_000, "append_p50_us": 5,
                        "replay_events_per_s": 100_000},
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
