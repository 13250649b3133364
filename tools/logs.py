"""The logs a tool was given (`--log` repeated, globs), read as one; sessions found in them.

Every session is labelled with the log it came from, so logs collected from a fleet of
containers can be queried together; session ids are unique across logs (UUIDs), and a
unique prefix of one is enough to name it.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcripts.location import resolve_log_path
from transcripts.reader import LogFile, open_log, sessions

UNCLEAN = ("no clean end: the runner is still running, was killed, or the log was copied "
           "without its -wal file (copy events.sqlite3-wal beside it)")


@dataclass(frozen=True, slots=True)
class SessionRef:
    """One session of one of the logs."""

    log: LogFile
    id: str
    row: dict[str, Any]

    @property
    def label(self) -> str:
        return str(self.log.path)


def expand(patterns: Sequence[str] | None) -> list[Path]:
    """The log files named: each pattern a path or a glob; none at all: the runner's log."""
    if not patterns:
        return [resolve_log_path(None)]
    paths: list[Path] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not found:
            raise FileNotFoundError(f"no event log matches {pattern}")
        paths.extend(Path(p) for p in found if Path(p) not in paths)
    return paths


def open_all(patterns: Sequence[str] | None) -> list[LogFile]:
    """Open every log read-only; notes about how one was read go to stderr."""
    logs = [open_log(p) for p in expand(patterns)]
    for log in logs:
        for note in log.notes:
            print(f"note: {note}", file=sys.stderr)
    return logs


def all_sessions(logs: Sequence[LogFile]) -> list[SessionRef]:
    """Every session of every log, oldest first."""
    refs = [SessionRef(log, row["id"], row) for log in logs for row in sessions(log.conn)]
    return sorted(refs, key=lambda r: r.row["started_wall"])


def find_session(logs: Sequence[LogFile], chosen: str | None) -> SessionRef:
    """The session named by id (or a unique prefix of it); by default the latest one."""
    refs = all_sessions(logs)
    if not refs:
        raise LookupError(f"{_names(logs)} holds no session")
    if chosen is None:
        return refs[-1]
    matches = [r for r in refs if r.id == chosen] or [r for r in refs if r.id.startswith(chosen)]
    if len(matches) == 1:
        return matches[0]
    what = "is ambiguous" if matches else "is not"
    raise LookupError(f"session {chosen} {what} in {_names(logs)}; known sessions:\n"
                      + known_sessions(refs))


def choose_sessions(logs: Sequence[LogFile], chosen: str | None) -> list[SessionRef]:
    """`all` or None: every session; else the one named."""
    if chosen in (None, "all"):
        return all_sessions(logs)
    return [find_session(logs, chosen)]


def known_sessions(refs: Sequence[SessionRef], shown: int = 20) -> str:
    lines = [f"  {r.id}  {r.row.get('language') or '-'}  {r.label}" for r in refs[-shown:]]
    if len(refs) > shown:
        lines.insert(0, f"  ({len(refs) - shown} older ones not listed)")
    return "\n".join(lines)


def _names(logs: Sequence[LogFile]) -> str:
    return str(logs[0].path) if len(logs) == 1 else f"the {len(logs)} logs"
