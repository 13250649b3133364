"""Logs that outlive the container: where the runner's event log goes, and the transcript of
the session it leaves beside a durable log when it stops (see `transcripts.location`)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

from runner.config import Config, read_environ_file
from transcripts.location import LogPlace, choose_log_place, default_log_path
from transcripts.reader import open_readonly
from transcripts.transcript import export


def choose(config: Config) -> LogPlace:
    """The log's place; `KRUNNER_LOG_DIR` may come from the image or the agent's environ.txt,
    which the runner reads only later, so it is looked at here too."""
    extra, _ = read_environ_file(config.paths.config_dir)
    place = choose_log_place(config.log_path, {**os.environ, **extra}, config.paths.work_dir)
    if not place.durable:
        return place
    try:  # a read-only or broken durable folder would leave the log degraded all session
        place.path.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=place.path.parent).close()
    except OSError as e:
        return dataclasses.replace(
            place, path=default_log_path(), durable=False,
            reason=f"the default, as {place.path.parent} ({place.reason}) is unusable: {e}")
    return place


def export_at_exit(place: LogPlace, session: str) -> Path | None:
    """Export `session` (its log already closed) beside a durable log; the file, or None.

    Written under a temporary name and renamed, so a file with the final name is whole.
    A failure is said on stderr and costs nothing else: the log itself is still there.
    """
    if not place.durable or not session or not place.path.exists():
        return None
    out = place.transcript_path(session)
    partial = out.with_name(out.name + ".partial")
    try:
        conn = open_readonly(place.path)
        try:
            count = export(conn, session, partial)
        finally:
            conn.close()
        os.chmod(partial, 0o600)
        os.replace(partial, out)
    except (OSError, sqlite3.Error, LookupError, ValueError) as e:
        with contextlib.suppress(OSError):
            partial.unlink()
        print(f"krunner: could not export the session's transcript to {out}: {e}",
              file=sys.stderr, flush=True)
        return None
    print(f"krunner: exported {count} events of session {session} to {out}",
          file=sys.stderr, flush=True)
    return out
