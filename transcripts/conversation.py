"""A recorded session as the agent saw it: the frames it sent, and what it got back.

Live replay sends the inbound frames to a fresh runner, paced as the agent paced them, and
compares the two conversations. Both sides come from event logs, so they are normalised
alike: console chunks of one stream are joined (chunk boundaries are not behaviour),
volatile values (the work folder, `status` clocks, addresses and ids) are masked, and each
source (`frontend`, `run:<n>`, `service:<name>`, `model:<name>`) is compared on its own,
because how sources interleave depends on timing, not on the runner.
Pure comparison: it must never start a runner or open a log (its callers do).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from transcripts.events import INPUT, KERNEL, OBSERVATION, OUTPUT
from transcripts.reader import Recorded

# What the agent waits for; the count of these received paces the next inbound frame.
ANSWERS = frozenset({"status", "completion", "apps-result", "service-result",
                     "model-service-result", "clean-finished", "build-finished", "finished",
                     "waiting-input"})
CONSOLE = frozenset({"stdout", "stderr", "media", "html", "log"})
REDACTED = "<redacted>"
JSON_OPS = frozenset({"complete", "start-service", "start-model-service", "shutdown-service",
                      "event"})
MASKS = ((re.compile(r"0x[0-9a-fA-F]{6,}"), "0x…"), (re.compile(r"\b[0-9a-f]{32}\b"), "<id>"))


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message the agent sent, and when: after `answers_before` answers, `gap` seconds
    after the previous message."""

    seq: int
    frames: list[bytes]
    answers_before: int
    gap: float
    redacted: bool = False


def inbound(recorded: Iterable[Recorded]) -> list[Inbound]:
    """The agent's messages, rebuilt from the input events, in the order they arrived."""
    sent: list[Inbound] = []
    answers, last_mono = 0, None
    for rec in recorded:
        e = rec.event
        if e.kind == OUTPUT and e.name in ANSWERS:
            answers += 1
        elif e.kind == INPUT:
            gap = 0.0 if last_mono is None else max(e.mono - last_mono, 0.0)
            last_mono = e.mono
            frames, redacted = _frames(e.name, e.data)
            sent.append(Inbound(rec.seq, frames, answers, gap, redacted))
    return sent


def answers(recorded: Iterable[Recorded]) -> int:
    """How many answers the agent received in the whole session."""
    return sum(1 for r in recorded if r.event.kind == OUTPUT and r.event.name in ANSWERS)


def _frames(op: str, data: Any) -> tuple[list[bytes], bool]:
    """The frames of one recorded input, as the front end recorded them (see frontend.py)."""
    if isinstance(data, dict) and "rejected" in data:
        if "frames" in data:
            return [bytes(f) for f in data["frames"]], False
        payload = data.get("payload", b"")
        return [op.encode(), payload if isinstance(payload, bytes) else _json(payload)], False
    if op == "input" and data == REDACTED:
        return [b"input", REDACTED.encode()], True
    if isinstance(data, bytes):
        return [op.encode(), data], False
    if op in JSON_OPS or not isinstance(data, str):
        return [op.encode(), _json(data)], False
    return [op.encode(), data.encode()], False


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def volatile_paths(recorded: Iterable[Recorded]) -> list[str]:
    """Folders of the recording runner that a replaying runner has elsewhere."""
    for rec in recorded:
        e = rec.event
        if e.source == KERNEL and e.kind == OBSERVATION and e.name == "RunnerStarted":
            data = e.data if isinstance(e.data, dict) else {}
            return [p for p in (data.get("work_dir"), data.get("state_dir")) if p]
    return []


def by_source(recorded: Iterable[Recorded], paths: list[str]) -> dict[str, list[str]]:
    """Each source's outbound messages, normalised, console chunks joined."""
    out: dict[str, list[str]] = {}
    last: dict[str, str] = {}
    for rec in recorded:
        e = rec.event
        if e.kind != OUTPUT:
            continue
        items = out.setdefault(e.source, [])
        text = _text(e.name, e.data, paths)
        if e.name in CONSOLE and last.get(e.source) == e.name:
            items[-1] += text
        else:
            items.append(f"{e.name}: {text}")
        last[e.source] = e.name
    return {source: [_repr(item) for item in items] for source, items in out.items()}


def _text(msg_type: str, data: Any, paths: list[str]) -> str:
    if msg_type == "status":
        return "<started_at>"
    raw = data if isinstance(data, (bytes, bytearray)) else _json(data)
    text = bytes(raw).decode("utf-8", "replace")
    for path in paths:
        text = text.replace(path, "<work>")
    for pattern, mask in MASKS:
        text = pattern.sub(mask, text)
    return text


def _repr(item: str) -> str:
    kind, _, text = item.partition(": ")
    return f"{kind}: {text!r}"


def differences(recorded: dict[str, list[str]], replayed: dict[str, list[str]]) -> list[str]:
    """A unified diff per source whose conversation changed; empty when all agree."""
    lines: list[str] = []
    for source in [*recorded, *(s for s in replayed if s not in recorded)]:
        before, after = recorded.get(source, []), replayed.get(source, [])
        if before != after:
            lines += difflib.unified_diff(before, after, f"recorded {source}",
                                          f"replayed {source}", lineterm="", n=2)
    return lines
