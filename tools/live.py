"""Live replay: a recorded session's inbound frames sent to a fresh runner, answers compared.

Each frame goes out once the new runner has sent as many answers (`status`, `finished`,
`waiting-input`, replies …) as the original had when the agent sent it, and no sooner after
the previous frame than the agent sent it (gaps capped at `MAX_GAP`), so an `input` follows
its `waiting-input` and an `interrupt` lands mid-run as it did. The new runner records its
own log; both logs are then compared source by source (`transcripts.conversation`).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import live_reasons as reasons
from tools.client import AgentClient
from tools.launch import start_runner
from transcripts import conversation as talk
from transcripts.events import INPUT, OUTPUT
from transcripts.reader import Recorded, events, latest_session, open_readonly

MAX_GAP = 5.0  # seconds: a user who paused for an hour is not replayed in real time
LOOPBACK = "127.0.0.1"


@dataclass(slots=True)
class LiveReport:
    ok: bool
    sent: int
    answers_expected: int
    answers_got: int
    redacted_inputs: int
    stalls: list[int] = field(default_factory=list)  # seqs sent without their answers
    differences: list[str] = field(default_factory=list)
    unreproduced: list[str] = field(default_factory=list)  # which recorded event, and why

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "sent": self.sent, "answers_expected": self.answers_expected,
                "answers_got": self.answers_got, "redacted_inputs": self.redacted_inputs,
                "stalls": self.stalls, "differences": self.differences,
                "unreproduced": self.unreproduced}


@dataclass(slots=True)
class Received:
    """What the new runner has sent so far: answers, and other non-console messages
    (model health statuses, service results) that come on their own time."""

    answers: int = 0
    others: int = 0

    def count(self, msg_type: str) -> None:
        if msg_type in talk.ANSWERS:
            self.answers += 1
        elif msg_type not in talk.CONSOLE:
            self.others += 1


def wait_answers(client: AgentClient, got: Received, count: int, timeout: float,
                 others: int = 0) -> Received:
    """Read until `count` answers (and `others` other messages) in all have arrived."""
    deadline = time.monotonic() + timeout
    while got.answers < count or got.others < others:
        try:
            msg_type, _ = client.recv(max(deadline - time.monotonic(), 0.0), "an answer")
        except TimeoutError:
            break
        got.count(msg_type)
    return got


def replay_live(recorded: list[Recorded], lang: str, *, work_dir: Path | None = None,
                timeout: float = 30.0, masks: Sequence[str] = ()) -> LiveReport:
    """Drive a fresh `lang` runner with the recorded frames; compare what both answered.

    `work_dir` is copied first and the new runner works in the copy: a replay never changes
    the folder it is given. `masks` are extra regular expressions for volatile values.
    """
    steps = talk.inbound(recorded)
    expected = talk.answers(recorded)
    with tempfile.TemporaryDirectory(prefix="krunner-live-") as tmp:
        extra: list[str] = []
        if work_dir is not None:
            copy = Path(tmp) / "work-copy"
            shutil.copytree(work_dir.resolve(), copy, symlinks=True)
            extra = ["--work-dir", str(copy)]
        # it runs recorded code: only this host may talk to it
        runner = start_runner(Path(tmp), lang, *extra, "--bind-host", LOOPBACK)
        try:
            got, stalls = _drive(runner.client(), steps, recorded, timeout)
        finally:
            runner.stop()  # also closes the client
        replayed = _session_events(runner.log_path)
    recorded_talk = _masked(talk.by_source(recorded, talk.volatile_paths(recorded)), masks)
    replayed_talk = _masked(talk.by_source(replayed, talk.volatile_paths(replayed)), masks)
    diff = talk.differences(recorded_talk, replayed_talk)
    by_seq = {r.seq: r.event for r in recorded}
    why = [*(f"recorded event {seq} ({by_seq[seq].source} {by_seq[seq].name}) was sent, but "
             "the new runner never gave the answers the agent had had before it"
             for seq in stalls), *reasons.unreproduced(recorded, diff)]
    if diff or stalls:
        why = reasons.from_outside(recorded) + why
    return LiveReport(not diff and not stalls, len(steps), expected, got,
                      sum(s.redacted for s in steps), stalls, diff, why)


def _drive(client: AgentClient, steps: list[talk.Inbound], recorded: list[Recorded],
           timeout: float) -> tuple[int, list[int]]:
    """Send each recorded message in its turn; the answers got and the stalled seqs. At the
    end, wait (as long as the session went on after its last frame, and a little) for the
    messages that came on their own time, such as a model's health statuses."""
    stalls: list[int] = []
    got = Received()
    last_sent = time.monotonic()
    for step in steps:
        got = wait_answers(client, got, step.answers_before, timeout)
        if got.answers < step.answers_before:
            stalls.append(step.seq)
        time.sleep(max(min(step.gap, MAX_GAP) - (time.monotonic() - last_sent), 0.0))
        client.send_raw(step.frames)
        last_sent = time.monotonic()
    want = Received()
    for rec in recorded:
        if rec.event.kind == OUTPUT:
            want.count(rec.event.name)
    inputs = [r.event.mono for r in recorded if r.event.kind == INPUT]
    tail = recorded[-1].event.mono - (inputs[-1] if inputs else recorded[0].event.mono)
    got = wait_answers(client, got, want.answers, timeout)
    return wait_answers(client, got, want.answers, min(max(tail, 0) + MAX_GAP, timeout),
                        want.others).answers, stalls


def _masked(talks: dict[str, list[str]], masks: Sequence[str]) -> dict[str, list[str]]:
    patterns = [re.compile(m) for m in masks]
    if not patterns:
        return talks
    out = {}
    for source, lines in talks.items():
        for p in patterns:
            lines = [p.sub("<masked>", line) for line in lines]
        out[source] = lines
    return out


def _session_events(log: Path) -> list[Recorded]:
    conn = open_readonly(log)
    try:
        session = latest_session(conn)
        return list(events(conn, session)) if session else []
    finally:
        conn.close()
