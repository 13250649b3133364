"""What a runner records, as a reader checks it: values outside it (times that are not
finite or past the year 9999, fields missing or of the wrong type) mean a forged file.

A transcript's hash chain proves only that nobody changed the file after its last hash was
computed; a forger who recomputes it can write anything. These checks keep what no runner
writes from reaching the log and the tools downstream. Pure: it must never do I/O.
"""

from __future__ import annotations

from typing import Any

MAX_TIME = 253402300799.0  # the last second of the year 9999: the readers can show any time
EVENT_FIELDS = ("seq", "wall", "mono", "source", "kind", "name", "from", "to", "data")
EVENT_KEYS = frozenset((*EVENT_FIELDS, "h"))  # and the line's hash
NUMBERS = (float, int)


def _is_time(value: Any) -> bool:
    return type(value) in NUMBERS and -MAX_TIME <= value <= MAX_TIME  # False for nan, inf


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
    """Why an event line holds what no runner records (None: it is plausible). On every
    line of every transcript read, so the common case is one expression of comparisons (a
    range test is False for NaN and the infinities too); the reason is found only after."""
    try:
        seq, wall, mono, source, kind, name, frm, to = (
            d["seq"], d["wall"], d["mono"], d["source"], d["kind"], d["name"], d["from"],
            d["to"])
    except KeyError:
        return _fields_problem()
    if ((type(wall) is float or type(wall) is int) and 0 <= wall <= MAX_TIME
            and (type(mono) is float or type(mono) is int) and -MAX_TIME <= mono <= MAX_TIME
            and type(seq) is int and type(source) is str and type(kind) is str
            and type(name) is str and (frm is None or type(frm) is str)
            and (to is None or type(to) is str) and len(d) == len(EVENT_KEYS) and "data" in d):
        return None
    if d.keys() != EVENT_KEYS:
        return _fields_problem()
    if not (_is_time(wall) and wall >= 0 and _is_time(mono)):
        return (f"holds a time no runner records (wall {wall!r}, mono {mono!r}): the file "
                "was forged")
    return "holds a field of the wrong type (seq, source, kind, name, from or to)"


def _fields_problem() -> str:
    return f"does not hold the fields of an event ({', '.join(EVENT_FIELDS)})"
