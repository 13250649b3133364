"""What the service tests share: reading the runner's log while it runs, model entries, frames."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import gone
from tools.client import AgentClient

HEALTH_SERVER = [sys.executable, "-m", "tests.health_server"]
ROOT = Path(__file__).resolve().parent.parent


def log_rows(log: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def wait_rows(log: Path, sql: str, *args: object, count: int = 1, within: float = 30.0
              ) -> list[tuple[Any, ...]]:
    """The rows of `sql` once there are at least `count` (the log commits every few ms)."""
    deadline = time.monotonic() + within
    while True:
        try:
            rows = log_rows(log, sql, *args)
        except sqlite3.OperationalError:
            rows = []
        if len(rows) >= count:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} row(s) of {sql!r} not logged within {within} s: {rows}")
        time.sleep(0.05)


def spawned_pids(log: Path, source: str) -> list[int]:
    return [int(r[0]) for r in log_rows(
        log, "SELECT json_extract(data, '$.pid') FROM events WHERE source = ? "
             "AND name = 'ServiceSpawned' AND json_extract(data, '$.pid') IS NOT NULL "
             "ORDER BY seq", source)]


def states(log: Path, source: str) -> list[str]:
    return [r[0] for r in log_rows(
        log, "SELECT to_state FROM events WHERE source = ? AND kind = 'transition' "
             "ORDER BY seq", source)]


def model_entry(model_dir: Path, port: int, command: list[str] | None = None,
                name: str = "llm", **check: object) -> dict[str, Any]:
    model_dir.mkdir(parents=True, exist_ok=True)
    health = {"path": "/health", "max_retries": 30, "max_wait_time": 0.3, **check}
    return {"name": name, "model_path": str(model_dir),
            "service": {"start_command": command or [*HEALTH_SERVER, str(port)], "port": port,
                        "health_check": health}}


def next_message(client: AgentClient, msg_type: str, timeout: float = 30.0,
                 where: Callable[[Any], bool] = lambda _: True) -> Any:
    """The next `msg_type` payload (JSON), including ones an earlier wait set aside."""
    for i, (kind, data) in enumerate(client.skipped):
        if kind == msg_type and where(json.loads(data)):
            del client.skipped[i]
            return json.loads(data)
    deadline = time.monotonic() + timeout
    while True:
        kind, data = client.recv(max(deadline - time.monotonic(), 0.0), waiting_for=msg_type)
        if kind == msg_type and where(json.loads(data)):
            return json.loads(data)
        client.skipped.append((kind, data))


def alive(pid: int) -> bool:
    return not gone(pid, within=0)
