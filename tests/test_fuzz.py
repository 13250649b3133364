"""Hostile input in every field of every op, sent to one real runner: each request that is
owed a reply gets exactly one, the runner keeps answering, and a run sent afterwards is
answered and recorded. The cases and their value classes: `tests/hostile_values.py`."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from itertools import groupby

import pytest

from tests.hostile_values import Case, cases, counts
from tests.service_helpers import log_rows, wait_rows
from tools.client import AgentClient
from tools.launch import RunnerProcess, start_runner

REPLY_OF = {"status": "status", "complete": "completion", "get-apps": "apps-result",
            "start-service": "service-result", "start-model-service": "model-service-result",
            "clean": "clean-finished", "build": "build-finished", "exec": "finished",
            "code": "finished"}
QUEUED = {"clean", "build", "exec", "code"}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerProcess]:
    """One runner for the whole module: hundreds of frames, one process."""
    runner = start_runner(tmp_path_factory.mktemp("fuzz"), "python")
    runner.client().status(timeout=60)
    yield runner
    runner.stop()


def expected_reply(case: Case) -> str | None:
    """The message type the case is owed (the agent matches them by order), if any."""
    reply = REPLY_OF.get(case.op) if case.frames[0] == case.op.encode() else None
    if reply is None or (case.op in QUEUED and len(case.frames) != 2):
        return None  # a broken run frame is refused: no run, nothing owed
    return reply


def _drain(client: AgentClient, got: Counter[str], expected: Counter[str],
           within: float) -> None:
    """Count what arrives until every expected reply has (a missing one fails)."""
    deadline = time.monotonic() + within
    while any(got[t] < n for t, n in expected.items()):
        left = deadline - time.monotonic()
        missing = {t: n - got[t] for t, n in expected.items() if got[t] < n}
        assert left > 0, f"replies missing after {within} s: {missing}"
        try:
            kind, _ = client.recv(timeout=left, waiting_for=str(missing))
        except TimeoutError:
            continue
        got[kind] += 1


def test_every_hostile_frame_gets_its_one_reply_and_recording_goes_on(
        fuzzed: RunnerProcess) -> None:
    every = cases()
    print(f"\nfuzz cases: {len(every)}; by value class: {counts(every)}")
    client = fuzzed.client()
    expected: Counter[str] = Counter()
    got: Counter[str] = Counter()
    for _op, group in groupby(every, key=lambda c: c.op):
        for case in group:
            client.send_raw(case.frames)
            if reply := expected_reply(case):
                expected[reply] += 1
        client.send("status")  # the runner still answers after each op's cases
        expected["status"] += 1
        _drain(client, got, expected, within=60)
    quiet_until = time.monotonic() + 1.0  # an extra reply would arrive within this
    while (left := quiet_until - time.monotonic()) > 0:
        try:
            got[client.recv(timeout=left)[0]] += 1
        except TimeoutError:
            break
    replies = {t: got[t] for t in set(REPLY_OF.values())}
    print(f"replies by type: {replies}")
    assert replies == {t: expected[t] for t in set(REPLY_OF.values())}

    marker = f"fuzz-survived-{time.time_ns()}"
    result = client.batch(exec=f"echo {marker}", timeout=30)
    assert (result.exec_exit, result.stdout) == (0, f"{marker}\n")
    recorded = wait_rows(fuzzed.log_path, "SELECT source FROM events WHERE kind = 'output' "
                                          "AND name = 'stdout' AND instr(data, ?) > 0",
                         marker.encode())
    ((source,),) = recorded
    wait_rows(fuzzed.log_path, "SELECT 1 FROM events WHERE source = ? AND name = 'RunEnded'",
              source)
    assert log_rows(fuzzed.log_path, "SELECT count(*) FROM events "
                                     "WHERE name IN ('FrontEndFailed', 'LogGap')") == [(0,)]


def test_nothing_hostile_reached_an_unforeseen_path(fuzzed: RunnerProcess) -> None:
    """Every case was refused or handled by design: no traceback, no front-end failure."""
    assert "started_at" in fuzzed.client().status(timeout=10)
    stderr = fuzzed.stderr_text()
    at = max(stderr.find("Traceback"), stderr.find("FRONT END ERROR"))
    assert at < 0, stderr[max(at - 500, 0):at + 3000]


def test_the_case_counts_cover_every_value_class() -> None:
    by_class = counts(cases())
    assert set(by_class) == {"lone_surrogate", "huge_int", "non_finite", "deep_300",
                             "deep_100000", "wrong_type", "raw_bytes", "frame_count",
                             "unknown_op"}
    assert all(n > 0 for n in by_class.values())


