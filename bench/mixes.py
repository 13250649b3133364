"""The sessions `bench.inspect` measures the support tools on, as event streams: `calm` (a
model probed every 10 s for months with rare outages, beside many small runs) and
`flapping` (issue 17: a model probed every 1.2 s for days that goes down every 25 s or so).
Each stream is endless: the caller stops it. Made-up data for benchmarks only."""

from __future__ import annotations

import random
from collections.abc import Iterator

from machines import vocabulary as v
from transcripts.events import INPUT, OBSERVATION, OUTPUT, Event


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
