"""JSON for the event log: orjson where it is installed, else the standard library.

orjson is a binary wheel; the kernel-runner volume of a real cluster does not have it, and the
bundle krunner ships through the agent's mount carries only pure-Python code (docs/operations.md).
<<<<<<< HEAD
Both paths give compact UTF-8 JSON that either path reads back.

Values orjson cannot hold exactly (a lone surrogate, an integer beyond 64 bits, nesting deeper
than 255, NaN or an infinity, which it would write as null) are written by the standard
library instead: ASCII-escaped, so the text is valid UTF-8, and with one leading space. No
compact encoder writes a leading space, so `loads` knows such text at its first byte and reads
it with the standard library, which gives every value back exactly (orjson would read a big
integer as a float). What even the standard library cannot write raises `ValueError`.
Nothing here does I/O.
=======
Both paths give compact UTF-8 JSON that either path reads back; the log must never
depend on orjson being there.
>>>>>>> main
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # the container's Python: the standard library does the same, slower
    orjson = None  # type: ignore[assignment]

FAST = orjson is not None
EXACT_MARK = " "  # leads text that only the standard library reads back exactly


def loads(text: str | bytes) -> Any:
    """The value of JSON text (ValueError if it is not JSON)."""
    if orjson is not None and text[:1] not in (EXACT_MARK, b" "):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # e.g. an escaped lone surrogate written elsewhere
            pass
    try:
        return json.loads(text)
    except RecursionError as e:
        raise ValueError(f"nested too deeply to read ({e})") from None


def dumps(data: Any, default: Callable[[Any], Any] | None = None) -> str:
    """Compact JSON text; `default` turns what JSON cannot hold into what it can."""
    return dumpb(data, default).decode()


def dumpb(data: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact JSON as UTF-8 bytes (orjson's native form); exact-mark text where needed."""
    if orjson is not None:
        try:
            out = orjson.dumps(data, default=default, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            return exact(data, default)
        if b"null" in out and has_non_finite(data):  # orjson wrote NaN or inf as null
            return exact(data, default)
        return out
    out_text = json.dumps(data, default=default, ensure_ascii=False, separators=(",", ":"))
    try:
        return out_text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return exact(data, default)


def exact(data: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """The standard library's JSON, ASCII only, after the exact mark; ValueError if even it
    cannot write `data` (nesting deeper than the interpreter's recursion limit, a cycle)."""
    try:
        text = json.dumps(data, default=default, ensure_ascii=True, separators=(",", ":"))
    except RecursionError as e:
        raise ValueError(f"nested too deeply to encode ({e})") from None
    except TypeError as e:
        raise ValueError(str(e)) from None
    return (EXACT_MARK + text).encode("ascii")


def has_non_finite(data: Any) -> bool:
    """Whether a NaN or an infinity is anywhere in `data` (orjson writes them as null)."""
    if isinstance(data, float):
        return not math.isfinite(data)
    if isinstance(data, dict):
        return any(has_non_finite(v) for v in data.values())
    if isinstance(data, (list, tuple)):
        return any(has_non_finite(v) for v in data)
    return False
