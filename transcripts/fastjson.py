"""JSON for the event log: orjson where it is installed, else the standard library.

orjson is a binary wheel; the kernel-runner volume of a real cluster does not have it, and the
bundle krunner ships through the agent's mount carries only pure-Python code (docs/operations.md).
Both paths give compact UTF-8 JSON that either path reads back; the log must never
depend on orjson being there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # the container's Python: the standard library does the same, slower
    orjson = None  # type: ignore[assignment]

FAST = orjson is not None


def loads(text: str | bytes) -> Any:
    return orjson.loads(text) if orjson is not None else json.loads(text)


def dumps(data: Any, default: Callable[[Any], Any] | None = None) -> str:
    """Compact JSON text; `default` turns what JSON cannot hold into what it can."""
    return dumpb(data, default).decode()


def dumpb(data: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact JSON as UTF-8 bytes (orjson's native form)."""
    if orjson is not None:
        return orjson.dumps(data, default=default, option=orjson.OPT_NON_STR_KEYS)
    return json.dumps(data, default=default, ensure_ascii=False,
                      separators=(",", ":")).encode()
