"""Service definitions (`/etc/backend.ai/service-defs/<name>.json`, PROTOCOL §6.1).

A broken file never stops the runner: it is reported, and starting that service answers
with the reason. Template variables are a fresh dict for every start, so nothing one service
computes leaks into another (the original shared and mutated them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import bounded_json

FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "command": (list, str), "prestart": list, "prestart_actions": list, "env": dict,
    "url_template": str, "allowed_arguments": list, "default_arguments": dict,
    "allowed_envs": list, "noop": bool, "shell": str,
}


class InvalidDefinition(ValueError):
    """A service definition that cannot be used."""


class LaunchRefused(ValueError):
    """A start request that the definition does not allow (argument, environment, template)."""


@dataclass(frozen=True, slots=True)
class ServiceDef:
    name: str
    command: list[str] | str
    prestart: list[dict[str, Any]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url_template: str = ""
    allowed_arguments: list[str] = field(default_factory=list)
    default_arguments: dict[str, Any] = field(default_factory=dict)
    allowed_envs: list[str] = field(default_factory=list)
    noop: bool = False
    shell: str = "bash"


def parse(name: str, doc: Any) -> ServiceDef:
    """Validate one definition document."""
    if not isinstance(doc, dict):
        raise InvalidDefinition("the definition must be a JSON object")
    unknown = sorted(set(doc) - set(FIELD_TYPES))
    if unknown:
        raise InvalidDefinition(f"unknown key(s): {', '.join(unknown)}")
    for key, value in doc.items():
        if not isinstance(value, FIELD_TYPES[key]):
            raise InvalidDefinition(f"{key!r} has the wrong type ({type(value).__name__})")
    if "command" not in doc and not doc.get("noop"):
        raise InvalidDefinition("'command' is required")
    command = doc.get("command", [])
    if isinstance(command, list) and not all(isinstance(c, str) for c in command):
        raise InvalidDefinition("'command' must be a list of strings")
    prestart = doc.get("prestart_actions", doc.get("prestart", []))
    for action in prestart:
        if not isinstance(action, dict) or not isinstance(action.get("action"), str):
            raise InvalidDefinition("each prestart action needs an 'action' name")
    return ServiceDef(name, command, prestart, doc.get("env", {}), doc.get("url_template", ""),
                      doc.get("allowed_arguments", []), doc.get("default_arguments", {}),
                      doc.get("allowed_envs", []), doc.get("noop", False),
                      doc.get("shell", "bash"))


def load_dir(folder: Path) -> tuple[dict[str, ServiceDef], dict[str, str]]:
    """Every `*.json` in the folder: the usable definitions, and why the others are not."""
    defs: dict[str, ServiceDef] = {}
    errors: dict[str, str] = {}
    if not folder.is_dir():
        return defs, errors
    for path in sorted(folder.glob("*.json")):
        try:
            doc = bounded_json.loads(path.read_text(encoding="utf-8"))
            defs[path.stem] = parse(path.stem, doc)
        except (OSError, UnicodeDecodeError, ValueError) as e:  # InvalidDefinition, JSONRejected
            errors[path.stem] = str(e)
    return defs, errors


def fill(template: str, variables: dict[str, Any]) -> str:
    try:
        return template.format_map(variables)
    except KeyError as e:
        raise LaunchRefused(f"unknown template variable {e}") from None
    except (ValueError, IndexError, AttributeError) as e:
        raise LaunchRefused(f"bad template {template!r}: {e}") from None


def launch_spec(defn: ServiceDef, variables: dict[str, Any], options: dict[str, Any],
                frozen_env: set[str]) -> tuple[list[str], dict[str, str]]:
    """argv and extra environment of one start, options checked against the definition."""
    arguments = dict(defn.default_arguments)
    for key, value in (options.get("arguments") or {}).items():
        if key not in defn.allowed_arguments:
            raise LaunchRefused(f"argument {key} is not allowed for service {defn.name}")
        arguments[key] = value
    extra: list[str] = []
    for key, value in arguments.items():
        extra.append(key)
        if isinstance(value, list):
            extra.extend(str(v) for v in value)
        elif value is not None:
            extra.append(str(value))
    if isinstance(defn.command, str):
        argv = shell_argv(defn.shell, fill(defn.command, variables), extra)
    else:
        argv = [fill(part, variables) for part in defn.command] + extra
    env = {fill(k, variables): fill(str(v), variables) for k, v in defn.env.items()}
    for key, value in (options.get("envs") or {}).items():
        if key not in defn.allowed_envs or key in frozen_env:
            raise LaunchRefused(f"environment variable {key} is not allowed for {defn.name}")
        env[key] = str(value)
    return argv, env


def shell_argv(shell: str, command: str, arguments: list[str]) -> list[str]:
    """A string command run by the shell, its arguments passed on to it as the program's.

    `bash -c STRING a b` makes `a` the shell's `$0` and `b` its `$1`, so appended arguments
    never reached the program; `"$@"` after the command hands them over, each one intact.
    """
    if not arguments:
        return [shell, "-c", command]
    return [shell, "-c", f'{command} "$@"', shell, *arguments]


def app_entry(defn: ServiceDef) -> dict[str, Any]:
    """One `apps-result` item: optional keys only when non-empty."""
    entry: dict[str, Any] = {"name": defn.name}
    if defn.url_template:
        entry["url_template"] = defn.url_template
    if defn.allowed_arguments:
        entry["allowed_arguments"] = list(defn.allowed_arguments)
    if defn.allowed_envs:
        entry["allowed_envs"] = list(defn.allowed_envs)
    return entry
