"""Where a report's session comes from, and what is known of its integrity.

A transcript is read once, every line checked (hash chain, plausibility, closing line) as it
is written into a temporary log of its own, so the same SQLite queries serve both sources;
the transcript's own seq numbers are kept beside it to show. A log is read where it is,
read-only. Must never write to a log it was given.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tools import logs as logset
from tools.progress import lines_in, progress
from transcripts import store
from transcripts.completeness import partial_reasons
from transcripts.reader import encode, open_log
from transcripts.transcript import TranscriptReader, from_portable


@dataclass(slots=True)
class Origin:
    """What the report was made from, in words and figures for its header."""

    kind: str  # "transcript" or "log"
    path: str
    session: str
    verification: str  # what checking the source found, in a sentence
    fingerprint: str | None  # the transcript's (from a log: the one recorded at export)
    partial: list[str] = field(default_factory=list)  # why it is not the whole session
    seqs: array | None = None  # stored seq - 1 -> the transcript's seq (None: the same)

    def seq(self, stored: int) -> int:
        return stored if self.seqs is None else self.seqs[stored - 1]


@contextmanager
def from_transcript(path: Path, quiet: bool) -> Iterator[tuple[logset.SessionRef, Origin]]:
    """The transcript's session, read into a temporary log removed afterwards."""
    reader = TranscriptReader(path)
    seqs = array("q")
    with tempfile.TemporaryDirectory(prefix="krunner-report-") as folder:
        log = Path(folder) / "events.sqlite3"
        with progress("reading the transcript", lines_in(path), quiet=quiet) as tick:
            reader.progress = tick
            store.import_session(log, reader.header["session"], _rows(reader, seqs))
        reasons = reader.partial_reasons()
        origin = Origin("transcript", str(path), str(reader.header["session"]["id"]),
                        f"intact: each of its {reader.events} events checks out (hash chain, "
                        "closing line)", reader.fingerprint, reasons, seqs)
        opened = open_log(log)
        try:
            [ref] = logset.all_sessions([opened])
            yield ref, origin
        finally:
            opened.conn.close()


def _rows(reader: TranscriptReader, seqs: array) -> Iterator[store.StoredRow]:
    for d in reader.lines():
        seqs.append(d["seq"])
        yield (d["wall"], d["mono"], d["source"], d["kind"], d["name"], d["from"], d["to"],
               encode(from_portable(d["data"])))


def from_log(patterns: Sequence[str] | None, session: str | None
             ) -> tuple[logset.SessionRef, Origin]:
    """A session of a log (default: the latest), read where it is."""
    ref = logset.find_session(logset.open_all(patterns), session)
    recorded = _recorded_fingerprint(ref)
    words = ("read from the log itself (no transcript to check); the transcript exported "
             "at its end had the fingerprint below" if recorded else
             "read from the log itself (no transcript to check)")
    return ref, Origin("log", ref.label, ref.id, words, recorded,
                       partial_reasons(ref.log.conn, ref.id))


def _recorded_fingerprint(ref: logset.SessionRef) -> str | None:
    """The fingerprint the runner recorded when it exported the session (older logs: none)."""
    conn = ref.log.conn
    if "fingerprint" not in {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}:
        return None
    row = conn.execute("SELECT fingerprint FROM sessions WHERE id = ?", (ref.id,)).fetchone()
    return row[0] if row else None
