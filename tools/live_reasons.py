"""Why a live replay could not reproduce a session: the recorded events it names.

Some of what a session recorded came from outside it (a model server killed by someone or
answering probes badly, a Jupyter kernel that died): sending the same frames again cannot
bring those back. And when
a source's answers differ, the first recorded input of that source is the event that was
not reproduced, with the first answer that changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from transcripts.events import INPUT, OBSERVATION, TRANSITION
from transcripts.reader import Recorded

STOPPING = frozenset({"shutdown-service", "ShutdownRequested", "ModelStopped"})


def from_outside(recorded: Sequence[Recorded]) -> list[str]:
    """Recorded observations that no frame of the agent caused."""
    notes: list[str] = []
    stopping: set[str] = set()
    for rec in recorded:
        e = rec.event
        if e.name in STOPPING:
            stopping.add(e.source if e.kind == INPUT or e.name == "ModelStopped" else "*")
        if (e.kind == TRANSITION and e.source.startswith("model:")
                and e.to_state not in ("healthy", "undetermined", "stopped")):
            reason = (e.data or {}).get("reason") if isinstance(e.data, dict) else None
            notes.append(f"recorded event {rec.seq} ({e.source} {e.from_state} -> "
                         f"{e.to_state}: {reason}) came from the model server's answers to "
                         "probes, which a replay does not control")
        if e.kind != OBSERVATION:
            continue
        data: dict[str, Any] = e.data if isinstance(e.data, dict) else {}
        if (e.name == "ProcessExited" and e.source.startswith(("model:", "service:"))
                and "*" not in stopping and not _stopped(e.source, stopping)):
            code = data.get("exit_code")
            how = (f"was killed by signal {-code} from outside the session"
                   if isinstance(code, int) and code < 0 else
                   f"exited with code {code} by itself, no frame asked it to")
            notes.append(f"recorded event {rec.seq} ({e.source} ProcessExited): the process "
                         f"{how}; a replay cannot do that again")
        elif e.name == "KernelDied":
            notes.append(f"recorded event {rec.seq} (kernel KernelDied: "
                         f"{data.get('reason')}): the Jupyter kernel died from outside the "
                         "session; a replay cannot do that again")
    return notes


def _stopped(source: str, stopping: set[str]) -> bool:
    name = source.split(":", 1)[-1]
    return any(s.split(":", 1)[-1] == name for s in stopping)


def unreproduced(recorded: Sequence[Recorded], differences: Sequence[str]) -> list[str]:
    """For each source whose answers differ: its first recorded input and what changed."""
    notes: list[str] = []
    first_input = {}
    for rec in recorded:
        if rec.event.kind == INPUT:
            first_input.setdefault(rec.event.source, rec)
    source, removed, added = None, None, None
    for line in [*differences, "--- recorded <end>"]:
        header = re.match(r"--- recorded (.+)$", line)
        if header:
            if source is not None:
                notes.append(_note(source, first_input.get(source), removed, added))
            source, removed, added = header[1], None, None
        elif line.startswith("-") and not line.startswith("---") and removed is None:
            removed = line[1:]
        elif line.startswith("+") and not line.startswith("+++") and added is None:
            added = line[1:]
    return notes


def _note(source: str, rec: Recorded | None, removed: str | None, added: str | None) -> str:
    what = (f"recorded event {rec.seq} ({source} {rec.event.name})" if rec else
            f"the recorded answers of {source} (no input of the agent caused them)")
    change = (f"it answered {removed} then, and {added or 'nothing'} now" if removed
              else f"it now also answers {added}")
    return f"{what} was not reproduced: {change}"
