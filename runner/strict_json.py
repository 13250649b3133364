"""JSON from outside the runner (the agent's frames, files of the image), read strictly.

`loads` accepts only what every later reader can hold: nesting at most `MAX_DEPTH` deep
(checked before parsing, so 100,000 brackets cost a scan, not a `RecursionError`), finite
numbers (no NaN, Infinity or 1e400), integers within 64 bits, and text without lone
surrogates. Anything else raises `JSONRejected` with a reason a person can read. Pure: no
I/O, no state.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # far beyond any request of the protocol; deep enough for any real file
INT_BOUND = 1 << 63
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


class JSONRejected(ValueError):
    """A document that is not JSON, or JSON the runner will not hold."""


def loads(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed document, or `JSONRejected` saying why not."""
    depth = nesting_depth(text, max_depth)
    if depth > max_depth:
        raise JSONRejected(f"nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float,
                           parse_int=_bounded_int)
    except JSONRejected:
        raise
    except json.JSONDecodeError as e:
        raise JSONRejected(f"not valid JSON ({e.msg} at {e.pos})") from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of more than 4300 digits
        raise JSONRejected(f"not valid JSON ({e})") from None
    if "\\u" in text or "\\U" in text:  # a lone surrogate can only come from an escape
        _check_text(value)
    return value


def nesting_depth(text: str, stop_above: int) -> int:
    """How deep arrays and objects nest (strings skipped); stops counting past `stop_above`."""
    if text.count("[") + text.count("{") <= stop_above:
        return 0  # cannot be deeper than the number of openers: the common case costs two counts
    depth = deepest = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    break
        elif token in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise JSONRejected(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRejected(f"the number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    # a digit count first: int() of a huge literal is itself slow (and limited to 4300 digits)
    if len(text) > 20 or not -INT_BOUND <= (value := int(text)) < INT_BOUND:
        raise JSONRejected(f"the integer {text[:40]}{'...' if len(text) > 40 else ''} "
                           f"does not fit in 64 bits")
    return value


def _check_text(value: Any) -> None:
    """Every string (keys too) must be encodable as UTF-8: no lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise JSONRejected(f"the text holds a lone surrogate "
                               f"(U+{ord(value[e.start]):04X})") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)
