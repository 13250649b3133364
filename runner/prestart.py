"""Prestart actions of service definitions (PROTOCOL §6.2), from an explicit table only.

The original looked actions up with `getattr` on a module, so a JSON file could call any
name it imported; here an unknown action is simply an invalid definition. All actions of
one start share a time limit (`PRESTART_TIMEOUT`) that keeps the agent's reply inside its
10 s; a `run_command` still running then is ended with its whole process group.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runner.process_group import end_group
from runner.servicedefs import LaunchRefused, fill

log = logging.getLogger("krunner")
Action = Callable[..., Awaitable[Any]]
PRESTART_TIMEOUT = 3.0  # seconds for all prestart actions of one start


async def write_file(variables: dict[str, Any], filename: str, body: list[str],
                     mode: str = "644", append: bool = False) -> None:
    path = Path(fill(filename, variables))
    text = "".join(fill(line, variables) + "\n" for line in body)
    with path.open("a" if append else "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, int(mode, 8))


async def write_tempfile(variables: dict[str, Any], body: list[str], mode: str = "644") -> str:
    fd, name = tempfile.mkstemp(suffix=".py")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("".join(fill(line, variables) for line in body))
    os.chmod(name, int(mode, 8))
    return name


async def run_command(variables: dict[str, Any], command: list[str], echo: bool = False
                      ) -> dict[str, str]:
    proc = await asyncio.create_subprocess_exec(
        *(fill(part, variables) for part in command), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:  # the time limit (or a stop): nothing of it stays behind
        await asyncio.shield(end_group(proc, grace=0.5))
        raise
    result = {"out": out.decode(errors="replace"), "err": err.decode(errors="replace")}
    if echo:
        log.info("prestart %s: %s%s", command[0], result["out"], result["err"])
    return result


async def mkdir(variables: dict[str, Any], path: str) -> None:
    Path(fill(path, variables)).mkdir(parents=True, exist_ok=True)


async def log_message(variables: dict[str, Any], message: str, debug: bool = False) -> None:
    log.log(logging.DEBUG if debug else logging.INFO, "%s", fill(message, variables))


ACTIONS: dict[str, Action] = {"write_file": write_file, "write_tempfile": write_tempfile,
                              "run_command": run_command, "mkdir": mkdir, "log": log_message}


async def run_actions(actions: list[dict[str, Any]], variables: dict[str, Any],
                      limit: float = PRESTART_TIMEOUT) -> None:
    """Run each action in order within `limit` seconds; a `ref` stores its result."""
    current: list[str] = []
    try:
        async with asyncio.timeout(limit):
            await _run_all(actions, variables, current)
    except TimeoutError:
        raise LaunchRefused(f"prestart action {current[-1] if current else '?'!r} did not "
                            f"finish within the {limit:g} s limit") from None


async def _run_all(actions: list[dict[str, Any]], variables: dict[str, Any],
                   current: list[str]) -> None:
    if not isinstance(actions, list):
        raise LaunchRefused(f"prestart actions must be a list, not {type(actions).__name__}")
    for spec in actions:
        if not isinstance(spec, dict) or not isinstance(spec.get("action"), str):
            raise LaunchRefused("each prestart action must be an object with an 'action' name")
        name, args = spec["action"], spec.get("args") or {}
        current.append(name)
        action = ACTIONS.get(name)
        if action is None:
            raise LaunchRefused(f"unknown prestart action {name!r}")
        if not isinstance(args, dict):
            raise LaunchRefused(f"the arguments of {name} must be an object")
        try:
            result = await action(variables, **args)
        except TypeError as e:
            raise LaunchRefused(f"bad arguments for {name}: {e}") from None
        except (LaunchRefused, TimeoutError):
            raise
        except (OSError, ValueError) as e:
            raise LaunchRefused(f"prestart action {name} failed: {e}") from None
        if isinstance(spec.get("ref"), str) and spec["ref"]:
            variables[spec["ref"]] = result
