"""The agent's `start-service` and `start-model-service` requests, checked at the edge.

Every field is checked for its type and range before anything acts on it: ports are port
numbers and none of the runner's own (its ZeroMQ sockets; an intrinsic service's port is
only that service's), durations are finite, a health-check path is a path on the model's
own host. A request that fails raises `RequestRefused` with the field and the reason, which
the front end answers as `failed` and records (redacted). Unknown keys are kept and
ignored, so newer agents' additions pass through. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_NAME = 256
MAX_PATH = 2048
MAX_DURATION = 86400.0  # one day: the agent itself gives up long before
MAX_RETRIES = 1_000_000
MAX_PORTS = 64


class RequestRefused(ValueError):
    """A request field that cannot be used; the message names the field."""


@dataclass(frozen=True, slots=True)
class ReservedPorts:
    """Ports a service or model must not claim: the runner's own, and intrinsic services'."""

    own: frozenset[int] = frozenset()  # the runner's sockets: a probe there steals replies
    intrinsic: Mapping[str, int] | None = None  # service name -> its port

    def refuse(self, field: str, port: int, service: str | None) -> None:
        if port in self.own:
            raise RequestRefused(f"{field} {port} is the runner's own port")
        for name, taken in (self.intrinsic or {}).items():
            if port == taken and service != name:
                raise RequestRefused(f"{field} {port} is the port of the intrinsic "
                                     f"service {name}")


def check_service(request: dict[str, Any], reserved: ReservedPorts) -> None:
    """A `start-service` request: name, port(s), protocol and options."""
    name = _name(request.get("name"))
    port = request.get("port")
    if port is not None:
        reserved.refuse("'port'", _port("'port'", port), name)
    ports = request.get("ports")
    if ports is not None:
        if not isinstance(ports, list) or len(ports) > MAX_PORTS:
            raise RequestRefused(f"'ports' must be a list of at most {MAX_PORTS} port numbers")
        for i, item in enumerate(ports):
            reserved.refuse(f"'ports'[{i}]", _port(f"'ports'[{i}]", item), name)
    _optional(request, "protocol", str)
    options = _optional(request, "options", dict) or {}
    arguments = _optional(options, "arguments", dict, "'options.arguments'") or {}
    for key, value in arguments.items():
        _text(f"argument name {key!r}", key)
        _argument_value(key, value)
    envs = _optional(options, "envs", dict, "'options.envs'") or {}
    for key, value in envs.items():
        _env_name(key)
        if isinstance(value, (dict, list)) or value is None:
            raise RequestRefused(f"environment variable {key!r} must have a text value")
        _text(f"environment variable {key!r}", str(value))


def check_model(model: dict[str, Any], reserved: ReservedPorts) -> None:
    """A `start-model-service` request (one model of the model definition, PROTOCOL §7.1)."""
    _name(model.get("name"))
    model_path = model.get("model_path")
    if model_path is not None:
        _text("'model_path'", model_path)
    _optional(model, "metadata", dict)  # descriptive (24.03+): kept and recorded, not used
    service = _optional(model, "service", dict)
    if service is None:
        return  # the model service answers that there is nothing to start
    command = service.get("start_command")
    if isinstance(command, str):
        _text("'service.start_command'", command)
    elif not (isinstance(command, list) and command):
        raise RequestRefused("'service.start_command' must be a non-empty list of strings "
                             "or a string")
    else:
        for i, part in enumerate(command):
            _text(f"'service.start_command'[{i}]", part)
    if _optional(service, "shell", str, "'service.shell'") is not None:
        _text("'service.shell'", service["shell"])
    reserved.refuse("'service.port'", _port("'service.port'", service.get("port")), None)
    _prestart_actions(service.get("pre_start_actions"))
    check = _optional(service, "health_check", dict, "'service.health_check'")
    if check is not None:
        _health_check(check)


def _health_check(check: dict[str, Any]) -> None:
    path = check.get("path")
    if path is not None:
        _health_path(path)
    _number(check, "max_wait_time", 0.0)
    _number(check, "interval", 0.0, exclusive=True)
    _number(check, "initial_delay", 0.0)
    _integer(check, "max_retries", 1, MAX_RETRIES)
    _integer(check, "expected_status_code", 100, 599)
    _optional(check, "enable", bool, "'health_check.enable'")


def _health_path(path: Any) -> None:
    """A path on the model's own host: `/...`, no host, no scheme, nothing invisible."""
    field = "'health_check.path'"
    _text(field, path)
    if not path.startswith("/") or path.startswith("//"):
        raise RequestRefused(f"{field} must start with a single '/' (got {path[:60]!r})")
    if len(path) > MAX_PATH:
        raise RequestRefused(f"{field} is longer than {MAX_PATH} characters")
    if any(c.isspace() or not c.isprintable() or c in "#\\" for c in path):
        raise RequestRefused(f"{field} holds a space, a control character, '#' or '\\'")


def _prestart_actions(actions: Any) -> None:
    field = "'service.pre_start_actions'"
    if actions is None:
        return
    if not isinstance(actions, list):
        raise RequestRefused(f"{field} must be a list of actions")
    for i, action in enumerate(actions):
        if not isinstance(action, dict) or not isinstance(action.get("action"), str):
            raise RequestRefused(f"{field}[{i}] must be an object with an 'action' name")
        if action.get("args") is not None and not isinstance(action["args"], dict):
            raise RequestRefused(f"{field}[{i}].args must be an object")


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise RequestRefused("'name' must be a non-empty string")
    if len(name) > MAX_NAME:
        raise RequestRefused(f"'name' is longer than {MAX_NAME} characters")
    if not name.isprintable():
        raise RequestRefused("'name' holds a control character")
    return name


def _port(field: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        raise RequestRefused(f"{field} must be a port number (1-65535), got {_shown(value)}")
    return value


def _text(field: str, value: Any) -> None:
    if not isinstance(value, str):
        raise RequestRefused(f"{field} must be a string, got {_shown(value)}")
    if "\x00" in value:
        raise RequestRefused(f"{field} holds a NUL character")
    try:
        value.encode("utf-8")  # it becomes an argument, a variable, a path: bytes
    except UnicodeEncodeError:
        raise RequestRefused(f"{field} holds a lone surrogate, not text") from None


def _env_name(key: str) -> None:
    if not key or "=" in key or "\x00" in key:
        raise RequestRefused(f"environment variable name {key!r} is not usable")


def _argument_value(key: str, value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, (dict, list)):
            raise RequestRefused(f"argument {key!r} must be null, a value or a list of values")
        if item is not None:
            _text(f"argument {key!r}", str(item))


def _optional(obj: dict[str, Any], key: str, kind: type, field: str | None = None) -> Any:
    value = obj.get(key)
    if value is not None and (not isinstance(value, kind)
                              or (kind is not bool and isinstance(value, bool))):
        raise RequestRefused(f"{field or repr(key)} must be {_kind_name(kind)} or null, "
                             f"got {_shown(value)}")
    return value


def _number(check: dict[str, Any], key: str, low: float, *, exclusive: bool = False) -> None:
    value = check.get(key)
    if value is None:
        return
    field = f"'health_check.{key}'"
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise RequestRefused(f"{field} must be a finite number of seconds, got {_shown(value)}")
    if value < low or (exclusive and value == low) or value > MAX_DURATION:
        bound = f"more than {low:g}" if exclusive else f"at least {low:g}"
        raise RequestRefused(f"{field} must be {bound} and at most {MAX_DURATION:g} s, "
                             f"got {value!r}")


def _integer(check: dict[str, Any], key: str, low: int, high: int) -> None:
    value = check.get(key)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RequestRefused(f"'health_check.{key}' must be an integer from {low} to {high}, "
                             f"got {_shown(value)}")


def _kind_name(kind: type) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true or false"}.get(
        kind, kind.__name__)


def _shown(value: Any) -> str:
    """A wrong value as a reason shows it: numbers in full, text and containers by kind only
    (an environment value given in the wrong shape is still a secret)."""
    if value is None or isinstance(value, (bool, int, float)):
        return f"{type(value).__name__} {str(value)[:40]}"
    if isinstance(value, (list, dict)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__
