"""`python -m bench.stress [FRAMES]`: throw generated frames at a real runner, then check it.

Messages of 1 to 5 frames (ZeroMQ cannot carry an empty multipart message), random and known
op names, random bytes, invalid UTF-8, and valid ops with malformed payloads. Afterwards the
runner must be alive, answer `status`, run a query correctly, have sent exactly one reply for
every reply-expecting op and one terminal message for every queued op, and have recorded
every message as an input event (the rejected ones with their reason). Prints one JSON object.
"""

from __future__ import annotations

import collections
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from runner.frames import QUEUED_OPS, REPLYING_OPS
from tools.launch import start_runner

TERMINAL = {"clean": "clean-finished", "build": "build-finished", "exec": "finished",
            "code": "finished"}
# Harmless payloads for ops that execute something: the fuzzer must not run random code.
SAFE_RUNS = {"clean": [b"", b"true"], "build": [b"", b"false", b"true"],
             "exec": [b"", b"true", b"exit 3", b"*"], "code": [b"", b"x = 1", b"1/0"]}
OTHER_OPS = ["status", "complete", "get-apps", "start-service", "start-model-service",
             "shutdown-service", "input", "interrupt", "event"]


def random_bytes(rng: random.Random, limit: int = 64) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, limit)))


def json_payload(rng: random.Random) -> bytes:
    choices = [
        lambda: b"{not json", lambda: b"[1, 2]", lambda: b'"just a string"', lambda: b"null",
        lambda: b"\xff\xfe{}", lambda: random_bytes(rng),
        lambda: json.dumps({"name": rng.choice(["", "web", "x" * 300, "\u2603"]),
                            "port": rng.choice([0, 1, "x", None, 65536, 30000]),
                            "protocol": rng.choice(["tcp", "pty", "preopen", 5])}).encode(),
        lambda: json.dumps({"name": "m", "model_path": "/nonexistent/krunner-fuzz",
                            "service": rng.choice([None, {}, {"start_command": 5}])}).encode(),
        lambda: json.dumps({"code": rng.choice(["pri", "", 5, None])}).encode(),
        lambda: json.dumps({"type": rng.choice(["oom", "other", 3]), "data": {}}).encode(),
    ]
    return rng.choice(choices)()


def message(rng: random.Random) -> list[bytes]:
    """One generated message."""
    roll = rng.random()
    if roll < 0.02:
        op = rng.choice(sorted(QUEUED_OPS))
        return [op.encode(), rng.choice(SAFE_RUNS[op])]
    if roll < 0.55:
        op = rng.choice(OTHER_OPS)
        payload = json_payload(rng) if rng.random() < 0.7 else random_bytes(rng)
        frames = [op.encode(), payload]
    elif roll < 0.75:
        frames = [rng.choice([b"nope", b"STATUS", b"code ", b"\xff\xfe", b"", b"status\x00"]),
                  random_bytes(rng)]
    else:
        op = rng.choice([*OTHER_OPS, "code", "exec"])
        frames = [op.encode()] + [random_bytes(rng, 16) for _ in range(rng.choice([0, 2, 3, 4]))]
    return frames


def expected_replies(sent: list[list[bytes]]) -> collections.Counter[str]:
    """The reply types the agent would wait for, one per message (PROTOCOL §14)."""
    want: collections.Counter[str] = collections.Counter()
    for frames in sent:
        try:
            op = frames[0].decode("ascii")
        except UnicodeDecodeError:
            continue
        if op in REPLYING_OPS:
            want[REPLYING_OPS[op]] += 1
        elif op in QUEUED_OPS and len(frames) == 2:
            want[TERMINAL[op]] += 1
    return want


def run(frames: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-stress-") as tmp:
        runner = start_runner(Path(tmp))
        client = runner.client(timeout=120)
        client.status()
        sent = [message(rng) for _ in range(frames)]
        began = time.perf_counter()
        want = expected_replies(sent)
        got: collections.Counter[str] = collections.Counter()
        for i, msg in enumerate(sent):
            client.send_raw(msg)
            if i % 200 == 0:
                _collect(client, got, 0)
        _collect_until(client, got, want, deadline=time.monotonic() + 300)
        _collect(client, got, 1.0)  # anything extra would show up now
        elapsed = time.perf_counter() - began
        alive = runner.proc.poll() is None
        status_ok = "started_at" in client.status(timeout=30)
        query = client.query("print(6 * 7)")
        runner.stop()
        inputs, rejected = _recorded_inputs(runner.log_path)
    return {"frames": frames, "seconds": round(elapsed, 1), "alive": alive,
            "status_after": status_ok, "query_after": query.stdout == "42\n",
            "replies_expected": dict(want), "replies_got": dict(got),
            "replies_exact": got == want, "inputs_recorded": inputs,
            "every_message_recorded": inputs == frames, "rejected_recorded": rejected}


def _collect(client: Any, got: collections.Counter[str], wait: float) -> None:
    while True:
        try:
            kind, _ = client.recv(wait)
        except TimeoutError:
            return
        if kind in ("status", "completion", "apps-result", "service-result",
                    "model-service-result", *TERMINAL.values()):
            got[kind] += 1
        wait = min(wait, 0.05)


def _collect_until(client: Any, got: collections.Counter[str],
                   want: collections.Counter[str], deadline: float) -> None:
    while time.monotonic() < deadline and any(got[k] < n for k, n in want.items()):
        _collect(client, got, 0.5)


def _recorded_inputs(log: Path) -> tuple[int, int]:
    db = sqlite3.connect(log)
    try:
        total = db.execute("SELECT count(*) FROM events WHERE kind='input'").fetchone()[0]
        rejected = db.execute(
            "SELECT count(*) FROM events WHERE kind='input' AND typeof(data)='text' "
            "AND json_extract(data, '$.rejected') IS NOT NULL").fetchone()[0]
    finally:
        db.close()
    return total - 3, rejected  # minus the harness's own two status pings and one query


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=2))
