"""How the tools show what they read: ISO 8601 times, payloads as text, tables, JSON.

What a log holds was written by programs and users, so nothing of it reaches the operator's
terminal as control characters: escape sequences (ESC, CSI, OSC 52 clipboard writes, title
changes), C1 controls, a lone carriage return and bidirectional overrides are shown escaped
(`\x1b`, `\u202e`), in tables and in JSON alike, unless the caller asks for the raw text.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

TIME_KEYS = frozenset({"wall", "time", "started_wall", "ended_wall", "started", "ended",
                       "first_verdict", "until"})
# C0 but newline and tab, DEL, C1, a CR not before LF, and the bidirectional controls
CONTROLS = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f"
                      "\u202a-\u202e\u2066-\u2069]|\r(?!\n)")
JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """Text that cannot drive a terminal: each control character shown as an escape."""
    return CONTROLS.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def iso(ts: float | None, utc: bool = False) -> str | None:
    """An epoch time as ISO 8601 with date, milliseconds and zone (local unless `utc`); a
    value no clock gives (a forged log's) is shown as it is, never raised."""
    if ts is None:
        return None
    try:
        moment = datetime.fromtimestamp(ts, UTC)
        return (moment if utc else moment.astimezone()).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError, TypeError):
        return f"{ts!r} (not a time)"


def with_times(row: dict[str, Any], utc: bool) -> dict[str, Any]:
    """The row with its epoch times (the keys in TIME_KEYS) as ISO 8601 strings."""
    return {k: iso(v, utc) if k in TIME_KEYS and isinstance(v, (int, float)) else v
            for k, v in row.items()}


def payload_text(data: Any) -> str:
    """A payload as a person reads it: bytes as UTF-8 text (other bytes escaped)."""
    if data is None:
        return ""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data).decode("utf-8", errors="backslashreplace")
    if isinstance(data, str):
        return data
    return json.dumps(data, ensure_ascii=False, default=_json_default)


def cut(text: str, width: int | None) -> str:
    """One line: newlines shown as ⏎, cut to `width` characters (None: all of it)."""
    flat = text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\t", " ")
    if width is None or len(flat) <= width:
        return flat
    return flat[:max(width - 1, 1)] + "…"


def terminal_width(default: int = 120) -> int:
    return shutil.get_terminal_size((default, 24)).columns


def table(rows: list[dict[str, Any]], width: int | None = None, raw: bool = False) -> str:
    """Plain aligned columns, control characters escaped (`raw`: the last column as it is);
    the last column is cut so a row fits `width`."""
    if not rows:
        return ""
    cols = list(rows[0])
    cells = [[_cell(r.get(c), raw and i == len(cols) - 1) for i, c in enumerate(cols)]
             for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    if width is not None and len(cols) > 1:
        room = width - sum(widths[:-1]) - 2 * (len(cols) - 1)
        widths[-1] = max(min(widths[-1], room), len(cols[-1]), 10)
        cells = [[*row[:-1], cut(row[-1], widths[-1])] for row in cells]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
              for row in cells]
    return "\n".join(lines)


def _cell(value: Any, raw: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value) if raw else visible(str(value))


def portable(data: Any) -> Any:
    """A payload as JSON values: UTF-8 bytes as text, other bytes as {"$b64": ...}."""
    if isinstance(data, (bytes, bytearray)):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return {"$b64": base64.b64encode(data).decode("ascii")}
    if isinstance(data, dict):
        return {str(k): portable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [portable(v) for v in data]
    return data


def to_json(value: Any) -> str:
    return _json_safe(json.dumps(value, indent=2, ensure_ascii=False, default=_json_default))


def json_lines(rows: Iterable[dict[str, Any]], write: Callable[[str], Any]) -> None:
    for row in rows:
        write(_json_safe(json.dumps(row, ensure_ascii=False, default=_json_default)) + "\n")


def _json_safe(text: str) -> str:
    """JSON escapes C0 itself; DEL, C1 and bidi controls become \\uXXXX too (same value)."""
    return JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return portable(obj)
    return str(obj)


@contextmanager
def quiet_pipe() -> Iterator[None]:
    """A reader that closes the pipe early (`| head`) ends the tool quietly, exit 0."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would still try to flush stdout at exit and print a second traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0) from None
