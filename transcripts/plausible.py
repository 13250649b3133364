"""What a runner records, as a reader checks it: values outside it (times that are not
finite or past the year 9999, fields missing or of the wrong type) mean a forged file.

A transcript's hash chain proves only that nobody changed the file after its last hash was
computed; a forger who recomputes it can write anything. These checks keep what no runner
writes from reaching the log and the tools downstream. Pure: it must never do I/O.
"""

from __future__ import annotations

import math
from typing import Any

MAX_TIME = 253402300799.0  # the last second of the year 9999: the readers can show any time
EVENT_FIELDS = ("seq", "wall", "mono", "source", "kind", "name", "from", "to", "data")


def _is_time(value: Any) -> bool:
    return (type(value) in (float, int) and math.isfinite(value)
            and -MAX_TIME <= value <= MAX_TIME)


def session_problem(session: Any) -> str | None:
    """Why a transcript header's session row holds what no runner records (None: fine)."""
    if not isinstance(session, dict) or not isinstance(session.get("id"), str):
        return "has no session id (export always writes one)"
    started, ended = session.get("started_wall"), session.get("ended_wall")
    if not _is_time(started) or started < 0 or (ended is not None and (
            not _is_time(ended) or ended < 0)):
        return (f"holds a session time no runner records (started {started!r}, ended "
                f"{ended!r}): the file was forged")
    return None


def event_problem(d: dict[str, Any]) -> str | None:
    """Why an event line holds what no runner records (None: it is plausible)."""
    if len(d) != len(EVENT_FIELDS) + 1 or any(k not in d for k in EVENT_FIELDS):
        return f"does not hold the fields of an event ({', '.join(EVENT_FIELDS)})"
    wall, mono = d["wall"], d["mono"]
    if not (_is_time(wall) and wall >= 0 and _is_time(mono)):
        return (f"holds a time no runner records (wall {wall!r}, mono {mono!r}): the file "
                "was forged")
    if (type(d["seq"]) is not int or not all(type(d[k]) is str for k in ("source", "kind",
                                                                           "name"))
            or not all(d[k] is None or type(d[k]) is str for k in ("from", "to"))):
        return "holds a field of the wrong type (seq, source, kind, name, from or to)"
    return None
