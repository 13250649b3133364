"""Where the event log lives.

A `--log` flag wins, then the `KRUNNER_LOG` environment variable, then the default
`$XDG_STATE_HOME/krunner/events.sqlite3`, else `$HOME/.local/state/krunner/events.sqlite3`.
Inside a container `HOME=/home/work`, so the log lands in `/home/work/.local/state/krunner`;
on a developer's machine in `~/.local/state/krunner`.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_log_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return Path(state) / "krunner" / "events.sqlite3"


def resolve_log_path(flag: str | os.PathLike[str] | None = None) -> Path:
    """The log file to use (the writer creates its folder when it first opens it)."""
    return Path(flag or os.environ.get("KRUNNER_LOG") or default_log_path())
