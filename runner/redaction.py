"""Secrets of service requests kept out of the log: environment values handed to services.

Applied to everything the front end records of `start-service` and `start-model-service`,
rejected frames included: accepted payloads keep their shape with every environment value
replaced; a payload that cannot be read is withheld whole (it may hold a secret in clear).
"""

from __future__ import annotations

import json
from typing import Any

REDACTED = "<redacted>"
SECRET_OPS = frozenset({"start-service", "start-model-service"})
ENV_KEYS = frozenset({"env", "envs", "environ", "environment"})


def redact_envs(value: Any) -> Any:
    """A copy in which every mapping under an environment key has its values redacted."""
    if isinstance(value, dict):
        return {k: ({name: REDACTED for name in v} if k in ENV_KEYS and isinstance(v, dict)
                    else redact_envs(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_envs(v) for v in value]
    return value


def redact_rejected(op: str | None, data: Any) -> Any:
    """What a rejected frame of a service op is recorded as."""
    if op not in SECRET_OPS:
        return data
    if isinstance(data, dict) and "frames" in data:  # a message with the wrong frame count
        frames = data["frames"]
        return {"frames": frames[:1], "withheld": f"{len(frames) - 1} frame(s) of a {op}"}
    if isinstance(data, (bytes, bytearray)):
        try:
            parsed = json.loads(bytes(data))
        except (ValueError, UnicodeDecodeError):
            return {"withheld": f"{len(data)} unreadable bytes of a {op}"}
        if not isinstance(parsed, (dict, list)):
            return {"withheld": f"{len(data)} bytes of a {op}"}
        return {"payload": redact_envs(parsed)}
    return redact_envs(data)
