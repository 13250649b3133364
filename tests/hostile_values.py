"""The fuzz suite's cases: hostile values in every field of every op, and broken frames.

Value classes (`VALUES`): lone surrogates, integers beyond 64 bits (one beyond Python's 4300
digits), non-finite numbers (NaN, Infinity, -Infinity, 1e400), nesting 300 and 100,000 deep,
and a value of each wrong type (string, int, list, object, null, bool). Each is put in every
field (`FIELDS`, nested ones too) of every JSON op, in place of the whole payload, and sent
as the payload of every text op; raw bytes (invalid UTF-8, an encoded surrogate, NUL) go to
the text ops too. Frame cases: each op with 1, 3 and 5 frames, and unknown op names.
`python -m tests.hostile_values` prints the number of cases per class.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

RAW = "\u0000raw:"  # a placeholder for text json.dumps cannot write (1e400, 10**5000, depth)


def _raw(text: str) -> str:
    return RAW + text


VALUES: dict[str, list[Any]] = {
    "lone_surrogate": ["\ud800", "a\udfffb"],
    "huge_int": [2**64, -(2**63) - 1, 10**30, _raw("1" + "0" * 5000)],
    "non_finite": [float("nan"), float("inf"), float("-inf"), _raw("1e400")],
    "deep_300": [_raw("[" * 300 + "]" * 300)],
    "deep_100000": [_raw("[" * 100_000 + "]" * 100_000)],
    "wrong_type": ["fuzz", 7, [1, "two"], {"k": "v"}, None, True],
}
RAW_BYTES = [b"\xff\xfe", b"\xed\xa0\x80", b"a\x00b"]  # invalid UTF-8, a surrogate, NUL

# A well-formed payload per JSON op; the cases change one field of it. Nothing in them starts
# a process: the model directory does not exist and no service definition is named.
BASES: dict[str, Any] = {
    "complete": {"code": "pri", "options": {}},
    "start-service": {"name": "fuzz-svc", "port": 40001, "ports": [40001], "protocol": "tcp",
                      "options": {"arguments": {"--a": "b"}, "envs": {"E": "v"}}},
    "start-model-service": {
        "name": "fuzzmodel", "model_path": "/nonexistent/fuzz-model", "metadata": {"k": "v"},
        "service": {"start_command": ["true"], "port": 40002, "shell": "/bin/bash",
                    "pre_start_actions": [],
                    "health_check": {"path": "/health", "max_retries": 1, "max_wait_time": 1,
                                     "expected_status_code": 200, "interval": 1,
                                     "initial_delay": 0, "enable": True}}},
    "shutdown-service": "fuzz-svc",
    "event": {"type": "fuzz", "data": {}},
}
WHOLE: tuple[str, ...] = ()  # the field path of the whole payload
FIELDS: dict[str, list[tuple[str, ...]]] = {
    "complete": [("code",), ("options",)],
    "start-service": [("name",), ("port",), ("ports",), ("ports", 0), ("protocol",),
                      ("options",), ("options", "arguments"), ("options", "arguments", "--a"),
                      ("options", "envs"), ("options", "envs", "E")],
    "start-model-service": [("name",), ("model_path",), ("metadata",), ("service",),
                            *[("service", k) for k in ("start_command", "port", "shell",
                                                       "pre_start_actions", "health_check")],
                            ("service", "start_command", 0),
                            *[("service", "health_check", k) for k in (
                                "path", "max_retries", "max_wait_time", "expected_status_code",
                                "interval", "initial_delay", "enable")]],
    "shutdown-service": [],
    "event": [("type",), ("data",)],
}
TEXT_OPS = ["status", "get-apps", "input", "interrupt", "clean", "build", "exec", "code"]
ALL_OPS = [*BASES, *TEXT_OPS]
UNKNOWN_OPS = [b"no-such-op", b"", b"\xff\xfe", b"STATUS", b"status ", b"x" * 10_000]


@dataclass(frozen=True, slots=True)
class Case:
    value_class: str
    frames: list[bytes]
    where: str  # op and field, for a failure message

    @property
    def op(self) -> str:
        return self.frames[0].decode("ascii", "replace")


def encode(value: Any) -> bytes:
    """JSON text of `value` (ASCII, surrogates escaped), placeholders written as raw text."""
    raws: list[str] = []

    def swap(item: Any) -> Any:
        if isinstance(item, str) and item.startswith(RAW):
            raws.append(item[len(RAW):])
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(item, dict):
            return {key: swap(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [swap(inner) for inner in item]
        return item

    text = json.dumps(swap(value), allow_nan=True)
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', raw)
    return text.encode("ascii")


def _replaced(base: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(base)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def cases() -> list[Case]:
    """Every case, in a fixed order."""
    found: list[Case] = []
    for op, base in BASES.items():
        for path in [*FIELDS[op], WHOLE]:
            for cls, values in VALUES.items():
                for value in values:
                    found.append(Case(cls, [op.encode(), encode(_replaced(base, path, value))],
                                      f"{op} {'.'.join(map(str, path)) or '<payload>'}"))
        if isinstance(base, dict):  # a lone surrogate as a key
            found.append(Case("lone_surrogate", [op.encode(), encode({**base, "\udc00": 1})],
                              f"{op} <key>"))
    for op in TEXT_OPS:
        for cls, values in VALUES.items():
            found += [Case(cls, [op.encode(), encode(v)], f"{op} <text>") for v in values]
        found += [Case("raw_bytes", [op.encode(), raw], f"{op} <bytes>") for raw in RAW_BYTES]
    for op in ALL_OPS:
        payload = encode(BASES.get(op, ""))
        for count in (1, 3, 5):
            frames = [op.encode(), *[payload] * (count - 1)]
            found.append(Case("frame_count", frames, f"{op} with {count} frames"))
    found += [Case("unknown_op", [name, b"{}"], f"op {name[:20]!r}") for name in UNKNOWN_OPS]
    return found


def counts(found: list[Case]) -> dict[str, int]:
    return dict(Counter(case.value_class for case in found))


if __name__ == "__main__":
    every = cases()
    print(json.dumps({"cases": len(every), "by_class": counts(every),
                      "by_op": dict(Counter(c.op[:20] for c in every))}, indent=2))
