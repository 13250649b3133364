"""Secrets of service requests kept out of the log: environment values handed to services.

Applied to everything the front end records of `start-service` and `start-model-service`,
rejected frames included: accepted payloads keep their shape with every environment value
replaced, whatever shape the environment was given in (a mapping keeps its names; a list,
a string or anything else is withheld whole, since `NAME=secret` may be inside); a payload
that cannot be read is withheld whole (it may hold a secret in clear).
"""

from __future__ import annotations

from typing import Any

from runner import bounded_json

REDACTED = "<redacted>"
SECRET_OPS = frozenset({"start-service", "start-model-service"})
ENV_KEYS = frozenset({"env", "envs", "environ", "environment"})


def redact_envs(value: Any) -> Any:
    """A copy in which every value under an environment key is redacted."""
    if isinstance(value, dict):
        return {k: (_redacted_env(v) if k in ENV_KEYS else redact_envs(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact_envs(v) for v in value]
    return value


def _redacted_env(env: Any) -> Any:
    if isinstance(env, dict):
        return {str(name): REDACTED for name in env}
    if env is None:
        return None
    if isinstance(env, list):
        return [REDACTED] * len(env)
    return REDACTED


def redact_rejected(op: str | None, data: Any) -> Any:
    """What a rejected frame of a service op is recorded as."""
    if op not in SECRET_OPS:
        return data
    if isinstance(data, dict) and "frames" in data:  # a message with the wrong frame count
        frames = data["frames"]
        return {"frames": frames[:1], "withheld": f"{len(frames) - 1} frame(s) of a {op}"}
    if isinstance(data, (bytes, bytearray)):
        try:
            parsed = bounded_json.loads(bytes(data).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):  # JSONRejected is a ValueError
            return {"withheld": f"{len(data)} unreadable bytes of a {op}"}
        if not isinstance(parsed, (dict, list)):
            return {"withheld": f"{len(data)} bytes of a {op}"}
        return {"payload": redact_envs(parsed)}
    return redact_envs(data)
