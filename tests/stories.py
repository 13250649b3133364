"""Logs with timelines a test controls: events and the machine moves they cause, each move
stamped with the clock of the event that caused it, as the runner records them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from machines import vocabulary as v
from transcripts import synthetic
from transcripts.events import OBSERVATION, Event
from transcripts.store import EventLog

MODEL = "model:llm"


def record_timed(log: EventLog, stream: Iterable[Event]) -> None:
    for _ in synthetic.record_timed(log, stream):
        pass


def probe(t: float, ok: bool, latency: float, reason: str = "connection refused",
          source: str = MODEL) -> Event:
    if ok:
        return Event(source, OBSERVATION, v.PROBE_SUCCEEDED, {"status": 200,
                                                              "latency_ms": latency}, wall=t,
                     mono=t)
    return Event(source, OBSERVATION, v.PROBE_FAILED, {"reason": reason, "status": None,
                                                       "latency_ms": latency}, wall=t, mono=t)


def flapping_model(t0: float = 1_700_000_000.0, source: str = MODEL) -> list[Event]:
    """Configured at t0; healthy at +1; unhealthy +12 .. +20 (connection refused) and
    +31 .. +35 (timeouts, then a 500); stopped at +40. Latencies 1..30 ms, failures 900 ms."""
    t = lambda s: t0 + s  # noqa: E731
    story = [Event(source, OBSERVATION, v.MODEL_CONFIGURED, {"failure_threshold": 2},
                   wall=t(0), mono=t(0))]
    latencies = iter(range(1, 100))
    for s in range(1, 40):
        if s in (11, 12, 13):
            story.append(probe(t(s), False, 900.0, "connection refused", source))
        elif s == 30:
            story.append(probe(t(s), False, 1000.0, "timed out after 1 s", source))
        elif s in (31, 32):
            story.append(Event(source, OBSERVATION, v.PROBE_FAILED,
                               {"reason": "status 500, expected 200", "status": 500,
                                "latency_ms": 900.0}, wall=t(s), mono=t(s)))
        elif s in range(14, 20) or s in range(33, 35):
            continue  # the server is down: probes wait (no verdict change)
        else:
            story.append(probe(t(s), True, float(next(latencies)), source=source))
    story.append(Event(source, OBSERVATION, v.MODEL_STOPPED, {}, wall=t(40), mono=t(40)))
    return story


def write_log(path: Path, stream: Iterable[Event], **session: str) -> EventLog:
    log = EventLog(path)
    log.open_session(**({"kernel_id": "k", "language": "python"} | session))
    record_timed(log, stream)
    log.close()
    return log
