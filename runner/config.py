"""Command line, overridable paths and the environment handed to every child (PROTOCOL §1).

Nothing read here can stop the runner before it binds: settings in the environment are read
in the units people write (`runner.settings`) and unreadable ones fall back to their default
with a warning (`Config.warnings`, logged and recorded once the event log is open).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runner import bounded_json, settings
from runner.context import Paths

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Captured at import, as the original does, so later changes to os.environ do not leak in.
_FORCED_FROM_START = {
    name: os.environ.get(name, "")
    for name in ("LD_LIBRARY_PATH", "LD_PRELOAD", "SSH_AUTH_SOCK", "SSH_AGENT_PID")
}


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the runner is started with."""

    lang: str
    runtime_path: str | None
    debug: bool
    paths: Paths
    log_path: str | None
    input_port: int
    output_port: int
    record_output_limit: int
    own_state_dir: bool  # a private temporary folder, removed at exit
    terminal_in_port: int = 2002  # git runtime: SUB socket for keystrokes (PROTOCOL §8)
    terminal_out_port: int = 2003  # git runtime: PUB socket for screen output
    bind_host: str = "*"  # where the sockets listen: every interface, or e.g. 127.0.0.1
    warnings: tuple[str, ...] = ()  # settings that could not be read (their defaults apply)


def _env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name, default))


def _env_port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def parse_args(argv: list[str] | None = None) -> Config:
    """Parse `[--debug] LANG [RUNTIME_PATH]` plus krunner's overrides."""
    warnings = settings.normalise(os.environ)
    p = argparse.ArgumentParser(prog="krunner", description="Backend.AI-compatible kernel runner")
    p.add_argument("--debug", action="store_true", help="debug logging")
    p.add_argument("lang", help="runtime type, e.g. python or app")
    p.add_argument("runtime_path", nargs="?", default=None, help="path of the language runtime")
    p.add_argument("--log", default=None, help="event log file (env KRUNNER_LOG)")
    p.add_argument("--work-dir", type=Path, default=_env_path("KRUNNER_WORK_DIR", "/home/work"))
    p.add_argument("--config-dir", type=Path,
                   default=_env_path("KRUNNER_CONFIG_DIR", "/home/config"))
    p.add_argument("--service-defs", type=Path,
                   default=_env_path("KRUNNER_SERVICE_DEFS", "/etc/backend.ai/service-defs"))
    p.add_argument("--user-input-socket", type=Path,
                   default=_env_path("KRUNNER_USER_INPUT_SOCKET", "/tmp/bai-user-input.sock"))
    p.add_argument("--state-dir", type=Path, default=None,
                   help="runner-owned scratch folder (default: a private temp dir)")
    p.add_argument("--input-port", type=int, default=None,
                   help="PULL port (default 2000; 0: any free port)")
    p.add_argument("--output-port", type=int, default=None,
                   help="PUSH port (default 2001; 0: any free port)")
    p.add_argument("--terminal-in-port", type=int,
                   default=_env_port("KRUNNER_TERMINAL_IN_PORT", 2002),
                   help="git runtime: SUB port for keystrokes (default 2002; 0: any free port)")
    p.add_argument("--terminal-out-port", type=int,
                   default=_env_port("KRUNNER_TERMINAL_OUT_PORT", 2003),
                   help="git runtime: PUB port for screen output (default 2003; 0: any free port)")
    p.add_argument("--bind-host", default=os.environ.get("KRUNNER_BIND_HOST") or "*",
                   help="the interface the sockets listen on (default *: every one; "
                        "127.0.0.1 for a runner only this host may talk to)")
    p.add_argument("--record-output-limit", type=int,
                   default=int(os.environ.get("KRUNNER_RECORD_OUTPUT_LIMIT", 8 << 20)),
                   help="bytes of output recorded in the log per run (default 8 MiB)")
    a = p.parse_args(argv)
    ports = intrinsic_ports(a.config_dir)
    chosen = a.state_dir or os.environ.get("KRUNNER_STATE_DIR")
    state_dir = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="krunner-"))
    paths = Paths(a.work_dir, a.config_dir, a.service_defs, a.user_input_socket,
                  state_dir.resolve())
    return Config(
        lang=a.lang,
        runtime_path=a.runtime_path,
        debug=a.debug,
        paths=paths,
        log_path=a.log,
        input_port=ports.get("replin", 2000) if a.input_port is None else a.input_port,
        output_port=ports.get("replout", 2001) if a.output_port is None else a.output_port,
        record_output_limit=a.record_output_limit,
        own_state_dir=not chosen,
        terminal_in_port=a.terminal_in_port,
        terminal_out_port=a.terminal_out_port,
        bind_host=a.bind_host,
        warnings=tuple(warnings),
    )


def intrinsic_ports(config_dir: Path) -> dict[str, int]:
    """`intrinsic-ports.json` (agent in host-network mode), or nothing."""
    try:
        value = bounded_json.loads((config_dir / "intrinsic-ports.json").read_text())
    except (OSError, ValueError):  # unreadable, not JSON, or JSON we do not hold
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items()
            if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536}


def read_environ_file(config_dir: Path) -> tuple[dict[str, str], str | None]:
    """`environ.txt` pairs, and an error description if a line could not be used."""
    pairs: dict[str, str] = {}
    try:
        lines = (config_dir / "environ.txt").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return pairs, None
    except (OSError, UnicodeDecodeError) as e:
        return pairs, f"reading environ.txt failed: {e}"
    bad = [n for n, line in enumerate(lines, 1) if line.strip() and "=" not in line]
    for line in lines:
        if "=" in line:
            key, value = line.split("=", 1)
            pairs[key] = value
    problems = [f"environ.txt lines without '=' ignored: {bad}"] if bad else []
    problems += [f"environ.txt: {warning}" for warning in settings.normalise(pairs)]
    return pairs, "; ".join(problems) or None


def build_child_env(base: dict[str, str], extra: dict[str, str], lang_env: dict[str, str],
                    home: Path) -> dict[str, str]:
    """The environment of every child, built in the original's order (PROTOCOL §1.3)."""
    env = dict(base)
    env.update(LANG="C.UTF-8", HOME=str(home), TERM="xterm")
    env.update(_FORCED_FROM_START)
    env.update(lang_env)
    env.setdefault("PATH", DEFAULT_PATH)
    env.setdefault("SHELL", "/bin/ash" if os.path.isfile("/bin/ash") else "/bin/bash")
    env.update(extra)
    env["PATH"] = promote_paths(env["PATH"], _promoted_dirs())
    return env


def _promoted_dirs() -> list[str]:
    dirs = [d for d in ("/usr/local/cuda/bin", "/usr/local/nvidia/bin") if os.path.isdir(d)]
    if os.path.isdir("/home/linuxbrew/.linuxbrew"):
        dirs.append("/home/linuxbrew/.linuxbrew/bin")
    dirs.append("/home/work/.local/bin")
    return dirs


def promote_paths(path: str, front: list[str]) -> str:
    """Move `front` to the front of a PATH string, in order, without duplicates."""
    rest = [p for p in path.split(":") if p and p not in front]
    return ":".join([*front, *rest])
