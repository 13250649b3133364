"""Logs that outlive the container: where the runner's event log goes, and the transcript of
the session it leaves beside a durable log when it stops (see `transcripts.location`).

The export at exit is bounded by a deadline (shutdown must end before the container is
killed): it writes `<name>.jsonl.partial`, renamed only once complete; at the deadline it
closes the `.partial` file cleanly (its closing line says how many events it left out).
Either way the fingerprint goes to stderr (the container's log, out of the user's reach) and
into the log's session row, and the transcript is signed when the operator gave a key
(`KRUNNER_TRANSCRIPT_KEY_FILE`, see `transcripts.seal`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from runner.config import Config, read_environ_file
from transcripts import seal
from transcripts.location import LogPlace, choose_log_place, default_log_path
from transcripts.reader import open_readonly
from transcripts.transcript import Exported, export

EXPORT_SECONDS = 3.0  # the export's deadline when the caller gives none


def choose(config: Config) -> LogPlace:
    """The log's place; `KRUNNER_LOG_DIR` may come from the image or the agent's environ.txt,
    which the runner reads only later, so it is looked at here too."""
    extra, _ = read_environ_file(config.paths.config_dir)
    environ = {**os.environ, **extra}
    with contextlib.suppress(seal.BadKey):
        transcript_key(environ)  # a bad key file is said at start, not only at exit
    place = choose_log_place(config.log_path, environ, config.paths.work_dir)
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


def transcript_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The operator's signing key (`KRUNNER_TRANSCRIPT_KEY_FILE`), or None; a file that
    cannot serve is said on stderr (and BadKey raised: the caller decides)."""
    path = (os.environ if environ is None else environ).get(seal.KEY_ENV)
    if not path:
        return None
    try:
        return seal.read_key(path)
    except seal.BadKey as e:
        print(f"krunner: transcripts will not be signed: {e}", file=sys.stderr, flush=True)
        raise


def export_at_exit(place: LogPlace, session: str, *, deadline: float | None = None
                   ) -> Path | None:
    """Export `session` (its log already closed) beside a durable log; the file, or None.

    `deadline` is a `time.monotonic()` value (default: `EXPORT_SECONDS` from now). The file
    is written as `.partial` and renamed once whole; at the deadline it stays `.partial`,
    closed cleanly. A failure is said on stderr and costs nothing else: the log is there.
    """
    if not place.durable or not session or not place.path.exists():
        return None
    deadline = time.monotonic() + EXPORT_SECONDS if deadline is None else deadline
    out = place.transcript_path(session)
    partial = out.with_name(out.name + ".partial")
    try:
        key = transcript_key()
    except seal.BadKey:
        key = None
    try:
        conn = open_readonly(place.path)
        try:
            done = export(conn, session, partial, key=key,
                          expired=lambda: time.monotonic() >= deadline)
        finally:
            conn.close()
        os.chmod(partial, 0o600)
        if done.complete:
            os.replace(partial, out)
    except (OSError, sqlite3.Error, LookupError, ValueError) as e:
        with contextlib.suppress(OSError):
            partial.unlink()
        print(f"krunner: could not export the session's transcript to {out}: {e}",
              file=sys.stderr, flush=True)
        return None
    written = out if done.complete else partial
    _say_exported(done, session, written, key)
    _keep_fingerprint(place.path, session, done.fingerprint)
    return written


def _say_exported(done: Exported, session: str, written: Path, key: bytes | None) -> None:
    signed = f", signed with key {seal.key_id(key)}" if key is not None else ""
    what = "exported" if done.complete else "stopped at its deadline; exported only"
    print(f"krunner: transcript {what} {done.events} events of session {session} to "
          f"{written}{signed}; fingerprint {done.fingerprint}", file=sys.stderr, flush=True)
    if done.partial:
        print(f"krunner: the transcript is partial: {'; '.join(done.partial)}",
              file=sys.stderr, flush=True)


def _keep_fingerprint(log: Path, session: str, fingerprint: str) -> None:
    """The fingerprint in the session's row, where `verify --log` finds it."""
    try:
        conn = sqlite3.connect(log, timeout=0.2, isolation_level=None)
        try:
            seal.record_fingerprint(conn, session, fingerprint)
            # the main file alone holds everything again, as the writer's close left it
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error as e:
        print(f"krunner: could not record the transcript's fingerprint in {log}: {e}",
              file=sys.stderr, flush=True)
