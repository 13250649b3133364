"""JSON from outside the runner (the agent's frames, files of the image), with bounded depth.

`loads` checks the nesting before parsing, so 100,000 brackets cost one scan instead of a
`RecursionError` in the parser (or in any code that walks the value later), and turns every
way a document can fail (an integer literal of more than 4300 digits included) into
`JSONRejected` with a reason a person can read. Values JSON allows but some readers do not
(lone surrogates, integers beyond 64 bits, NaN and Infinity) are kept: the event log records
them losslessly, and each request checks the fields it uses (`runner.service_requests`).
Pure: no I/O, no state.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 500  # far beyond any real request or file; far below the interpreter's limit
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


class JSONRejected(ValueError):
    """A document that is not JSON, or nests deeper than the runner reads."""


def loads(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed document, or `JSONRejected` saying why not."""
    if nesting_depth(text, max_depth) > max_depth:
        raise JSONRejected(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise JSONRejected(f"not valid JSON ({e.msg} at {e.pos})") from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of more than 4300 digits
        raise JSONRejected(f"not valid JSON ({e})") from None


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
