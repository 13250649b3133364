"""The machines' compiled dispatch tables move exactly as `transitions` itself does: on every
golden transcript, on random streams of triggers, and a table the compiled walk cannot
follow is refused when its class is made."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, ClassVar

import pytest

from machines import vocabulary as v
from machines.base import NEW, Lifecycle, Transitioned, TriggerRejected
from machines.events import INPUT, OBSERVATION
from machines.registry import ROUTES, Machines
from tests.golden import record, sessions
from transcripts.replay import replay_transcript
from transcripts.transcript import TranscriptReader, load

Moved = Transitioned | TriggerRejected


def _moves(events: list[tuple[str, str, str, Any]], by_library: bool) -> list[Moved]:
    out: list[Moved] = []
    feed = Machines(out.append, by_library=by_library).feed
    for source, kind, name, data in events:
        feed(source, kind, name, data)
    return out


@pytest.mark.parametrize("name", list(sessions.SESSIONS))
def test_a_golden_session_moves_the_same_through_both_dispatches(name: str) -> None:
    path = record.transcript_path(name)
    _, recorded = load(path)
    fed = [(r.event.source, r.event.kind, r.event.name, r.event.data) for r in recorded
           if r.event.kind in (INPUT, OBSERVATION)]
    compiled, library = _moves(fed, False), _moves(fed, True)
    assert compiled == library  # every move and rejection, with the data it carries
    assert len(compiled) > 0
    fast = replay_transcript(TranscriptReader(path))
    slow = replay_transcript(TranscriptReader(path), by_library=True)
    assert fast.ok and slow.ok and fast.as_dict() == slow.as_dict()


def _random_stream(rng: random.Random, length: int) -> list[tuple[str, str, str, Any]]:
    """Events of every route, in any order, to a few machines of each kind, with payloads
    that make conditions go either way (failed runs, exit codes, probe streaks)."""
    routes = list(ROUTES)
    sources = {kind: ["kernel"] if kind == "kernel" else [f"{kind}:{i}" for i in range(1, 4)]
               for kind, _, _ in routes}
    payloads: list[Any] = [None, {}, {"failed": True, "exit_code": 2},
                           {"failed": False, "exit_code": 0}, {"exit_code": 0},
                           {"failure_threshold": 2, "success_threshold": 2},
                           {"uptime": 5.0, "exit_code": 1}, {"uptime": 9.0, "exit_code": 0},
                           {"wait_port": False, "pid": 7}, {"start_retries": 0, "port": 80},
                           {"reason": "status 503"}, b"raw bytes"]
    stream = []
    for _ in range(length):
        stream_kind, kind, name = rng.choice(routes)
        stream.append((rng.choice(sources[stream_kind]), kind, name, rng.choice(payloads)))
    return stream


@pytest.mark.parametrize("seed", range(20))
def test_random_triggers_move_the_same_through_both_dispatches(seed: int) -> None:
    events = _random_stream(random.Random(seed), 400)
    compiled = _moves(events, False)
    assert compiled == _moves(events, True)
    assert any(isinstance(m, Transitioned) for m in compiled)
    assert any(isinstance(m, TriggerRejected) for m in compiled)


def test_the_model_probe_streak_crosses_its_threshold_the_same_way() -> None:
    model = "model:m"
    fed = [(model, OBSERVATION, v.MODEL_CONFIGURED, {"failure_threshold": 3})]
    fed += [(model, OBSERVATION, v.PROBE_FAILED if i % 5 < 3 else v.PROBE_SUCCEEDED,
             {"reason": "timed out"}) for i in range(50)]
    compiled = _moves(fed, False)
    assert compiled == _moves(fed, True)
    assert [m.to_state for m in compiled if isinstance(m, Transitioned)][:3] == [
        "undetermined", "unhealthy", "healthy"]


def test_a_table_with_callbacks_is_refused_when_its_class_is_made() -> None:
    with pytest.raises(TypeError, match="callbacks are not compiled"):
        class _Noisy(Lifecycle):
            STATES: ClassVar[list[str]] = [NEW, "on"]
            TRANSITIONS: ClassVar[list[dict[str, Any]]] = [
                {"trigger": "go", "source": NEW, "dest": "on", "after": "shout"}]
    with pytest.raises(TypeError, match="state hooks are not compiled"):
        class _Hooked(Lifecycle):
            STATES: ClassVar[list[str]] = [NEW, "on"]
            TRANSITIONS: ClassVar[list[dict[str, Any]]] = [
                {"trigger": "go", "source": NEW, "dest": "on"}]

            def on_enter_on(self) -> None: ...


def test_every_golden_transcript_is_checked(tmp_path: Path) -> None:
    """The sessions above are every transcript kept in tests/golden."""
    kept = {p.stem for p in record.transcript_path("query").parent.glob("*.jsonl")}
    assert kept == set(sessions.SESSIONS)
