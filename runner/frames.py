"""Inbound frames from the agent, checked; outbound payloads, encoded as the agent reads them.

Pure encoding and checking: no sockets, no events, no state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgpack

from runner import bounded_json, build_info

# Ops by dispatch class (PROTOCOL §2).
QUEUED_OPS = frozenset({"clean", "build", "exec", "code"})
REPLYING_OPS = {  # op -> the message type the agent waits for
    "status": "status",
    "complete": "completion",
    "get-apps": "apps-result",
    "start-service": "service-result",
    "start-model-service": "model-service-result",
}
SILENT_OPS = frozenset({"input", "interrupt", "shutdown-service", "event"})
KNOWN_OPS = QUEUED_OPS | REPLYING_OPS.keys() | SILENT_OPS


@dataclass(frozen=True, slots=True)
class Request:
    """A well-formed two-frame message: the op and its raw payload."""

    op: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Malformed:
    """A message we cannot act on; `op` is set when the op frame was readable."""

    reason: str
    frames: list[bytes]
    op: str | None = None


def parse(frames: list[bytes]) -> Request | Malformed:
    """Check frame count, op name and encoding; payload contents are checked per op later."""
    if len(frames) != 2:
        op = _readable_op(frames[0]) if frames else None
        return Malformed(f"expected 2 frames, got {len(frames)}", frames, op)
    op = _readable_op(frames[0])
    if op is None:
        return Malformed("op is not ASCII", frames)
    if op not in KNOWN_OPS:
        return Malformed(f"unknown op {op!r}", frames, op)
    return Request(op, frames[1])


def _readable_op(raw: bytes) -> str | None:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return None


class BadPayload(ValueError):
    """The payload of a known op is not what the op needs."""


def text(payload: bytes) -> str:
    """A payload that must be UTF-8 text."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadPayload(f"payload is not valid UTF-8 ({e.reason} at byte {e.start})") from None


def document(payload: bytes) -> Any:
    """A payload that must be a JSON document of bounded depth (`runner.bounded_json`)."""
    try:
        return bounded_json.loads(text(payload))
    except bounded_json.JSONRejected as e:
        raise BadPayload(f"payload is {e}" if str(e).startswith("not ")
                         else f"payload rejected: {e}") from None


def json_object(payload: bytes, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A payload that must be a JSON object with the given keys."""
    value = document(payload)
    if not isinstance(value, dict):
        raise BadPayload(f"payload must be a JSON object, got {type(value).__name__}")
    missing = [key for key in required if key not in value]
    if missing:
        raise BadPayload(f"payload lacks required field(s): {', '.join(missing)}")
    return value


def encode_json(value: Any) -> bytes:
    """UTF-8 JSON; non-text characters are escaped so the agent's strict decode never fails."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


def exit_payload(exit_code: int) -> bytes:
    return b'{"exitCode": %d}' % exit_code


def status_payload(started_at: float) -> bytes:
    """The original's `started_at`, and the agent release the bundle was built for."""
    return msgpack.packb({"started_at": started_at, **build_info.status_fields()},
                         use_bin_type=True)


def failed_reply(error: str) -> bytes:
    return encode_json({"status": "failed", "error": error})


def reply_for_bad_request(op: str, reason: str, started_at: float) -> tuple[str, bytes]:
    """The one reply the agent waits for, when its request could not be understood."""
    msg_type = REPLYING_OPS[op]
    if op == "status":
        return msg_type, status_payload(started_at)
    if op == "complete":
        return msg_type, encode_json({"suggestions": [], "error": reason})
    return msg_type, failed_reply(reason)
