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
    """Why an event line holds what no runner records (None: it is plausible). Offline
    replay asks this of every line, so each test is the cheapest that says the same: a
    range check also refuses NaN and the infinities, as `_is_time` does."""
    if len(d) != len(EVENT_FIELDS) + 1:
        return _NOT_AN_EVENT
    try:
        seq, wall, mono, source, kind = d["seq"], d["wall"], d["mono"], d["source"], d["kind"]
        name, moved_from, moved_to = d["name"], d["from"], d["to"]
        d["data"]
    except KeyError:
        return _NOT_AN_EVENT
    wall_type, mono_type = type(wall), type(mono)
    if not ((wall_type is float or wall_type is int) and 0 <= wall <= MAX_TIME
            and (mono_type is float or mono_type is int) and -MAX_TIME <= mono <= MAX_TIME):
        return (f"holds a time no runner records (wall {wall!r}, mono {mono!r}): the file "
                "was forged")
    if (type(seq) is not int or type(source) is not str or type(kind) is not str
            or type(name) is not str
            or (moved_from is not None and type(moved_from) is not str)
            or (moved_to is not None and type(moved_to) is not str)):
        return "holds a field of the wrong type (seq, source, kind, name, from or to)"
    return None


_NOT_AN_EVENT = f"does not hold the fields of an event ({', '.join(EVENT_FIELDS)})"
