"""Where the event log lives, and whether that place outlives the container.

In order, the first that applies:

1. `--log FILE` (a flag) or `KRUNNER_LOG=FILE`: that file.
2. `KRUNNER_LOG_DIR=DIR`: `DIR/<kernel id>.sqlite3`, a durable folder the operator names
   (in the image's environment or the agent's `environ.txt`).
3. `<work dir>/.logs` is a folder (the user's storage folder named `.logs`, which Backend.AI
   mounts at `/home/work/.logs` and where the original wrote its task logs):
   `<work dir>/.logs/krunner/<kernel id>.sqlite3`.
4. Otherwise `$XDG_STATE_HOME/krunner/events.sqlite3`, else
   `$HOME/.local/state/krunner/events.sqlite3` (inside a container, in its scratch folder).

Places 2 and 3 are durable: one file per kernel id (`BACKENDAI_KERNEL_ID`), so sessions of
different kernels never share a file, and a transcript of each session is exported beside
the log when the runner stops.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LOG_ENV = "KRUNNER_LOG"
LOG_DIR_ENV = "KRUNNER_LOG_DIR"
USER_LOGS = ".logs"


@dataclass(frozen=True, slots=True)
class LogPlace:
    """The chosen log file, why it was chosen, and whether it outlives the container."""

    path: Path
    reason: str
    durable: bool

    def transcript_path(self, session: str) -> Path:
        """Where the transcript of `session` goes: beside the log, named after both."""
        return self.path.with_name(f"{self.path.stem}.{session}.jsonl")


def default_log_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return Path(state) / "krunner" / "events.sqlite3"


def resolve_log_path(flag: str | os.PathLike[str] | None = None) -> Path:
    """The log file the tools read by default (a flag, `KRUNNER_LOG`, else the default)."""
    return Path(flag or os.environ.get(LOG_ENV) or default_log_path())


def choose_log_place(flag: str | None, environ: Mapping[str, str], work_dir: Path
                     ) -> LogPlace:
    """Where the runner writes its log (see the module's docstring for the order)."""
    if flag:
        return LogPlace(Path(flag), "--log", durable=False)
    if environ.get(LOG_ENV):
        return LogPlace(Path(environ[LOG_ENV]), LOG_ENV, durable=False)
    name = f"{kernel_file_name(environ)}.sqlite3"
    if environ.get(LOG_DIR_ENV):
        return LogPlace(Path(environ[LOG_DIR_ENV]) / name, LOG_DIR_ENV, durable=True)
    user_logs = work_dir / USER_LOGS
    if user_logs.is_dir():
        return LogPlace(user_logs / "krunner" / name, f"the {user_logs} folder", durable=True)
    return LogPlace(default_log_path(), "the default", durable=False)


def kernel_file_name(environ: Mapping[str, str]) -> str:
    """A file name for this kernel: its id, else the host name (a container's id)."""
    raw = environ.get("BACKENDAI_KERNEL_ID") or f"host-{socket.gethostname()}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", raw).lstrip(".") or "kernel"
