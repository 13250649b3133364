"""Portable transcripts: one session as JSON Lines that cannot be altered unseen.

Line 1 is a header (format, version, the session's row), then one event a line, then a
closing line with the number of events, and when the session is not whole, `"partial"`: why
(it never ended, its writer recorded gaps, retention pruned some of it, or the export
stopped at its deadline). Every line ends with `"h"`, a hash chained over the
line's own text and the previous line's hash (BLAKE2b, 128 bits), so a changed, reordered,
renumbered, inserted or removed line, a changed header (its format version too) and a file
cut at a line boundary are all detected, and the first bad line is named. (A chain detects
edits; someone who recomputes every hash can forge one, which the fingerprint, the last
line's hash printed by `export`, shows when compared with the one sent along or kept in the
log's session row; and a closing line signed with the operator's key: see `seal`.) Values no
runner records (times that are not finite or past the year 9999, missing fields) are refused
as altered, so no reader downstream meets them.

A line is never used before its hash is checked.

Bytes are text where they are UTF-8 (`{"$utf8": ...}`, so frames can be read as they are)
and base64 otherwise (`{"$b64": ...}`). Reading streams: one line at a time, any size.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import sys
from binascii import hexlify
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from transcripts import fastjson, plausible, seal, store
from transcripts.completeness import GAP_EVENT, GAPS_SAID, partial_reasons
from transcripts.events import KERNEL, OBSERVATION, Event
from transcripts.reader import Recorded, Row, count, encode, events, session_header

FORMAT = "krunner-transcript"
PROGRESS_EVERY = 8192  # lines between two reports to a `progress` callable
Progress = Callable[[int], None]  # told how many more lines (events) are done
VERSION = 2
SUFFIX = len(',"h":"') + 32 + len('"}')
BOM = b"\xef\xbb\xbf"
DEADLINE_EVERY = 1024  # events written between two looks at the clock
NOT_ENDED = "the session never ended"


class TranscriptAltered(ValueError):
    """The file is not as exported: `line` is the first line that does not check out."""

    def __init__(self, path: Path, line: int, why: str) -> None:
        super().__init__(f"{path}: line {line} {why}")
        self.line = line


def _chained(prev: bytes, body: bytes) -> bytes:
    return hashlib.blake2b(prev + body, digest_size=16).hexdigest().encode()


class _Writer:
    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.prev = out, b""

    def line(self, obj: dict[str, Any]) -> None:
        self._body(fastjson.dumpb(obj)[:-1])

    def close(self, events: int, partial: list[str], key: bytes | None) -> None:
        """The closing line: the count, why the session is partial, the key's signature."""
        closing: dict[str, Any] = {"end": True, "events": events}
        if partial:
            closing["partial"] = partial
        body = fastjson.dumpb(closing)[:-1]
        if key is not None:
            body += seal.SIG_FIELD + fastjson.dumpb(seal.signature(key, self.prev, body))
        self._body(body)

    def _body(self, body: bytes) -> None:
        self.prev = _chained(self.prev, body)
        self.out.write(body + b',"h":"' + self.prev + b'"}\n')


@dataclass(frozen=True, slots=True)
class Exported:
    """What `export` wrote: how many events, the fingerprint, why the session is partial."""

    events: int
    fingerprint: str
    partial: list[str] = field(default_factory=list)
    signed: bool = False
    complete: bool = True  # False: the export stopped at its deadline (said in `partial`)


def export(conn: sqlite3.Connection, session: str, out: Path | str, *,
           key: bytes | None = None, expired: Callable[[], bool] | None = None,
           progress: Progress | None = None) -> Exported:
    """Write one session to `out` (mode 0600; "-": stdout), signed when given a `key`;
    `progress` is told how many more events were written, every PROGRESS_EVERY.

    `expired` is asked every `DEADLINE_EVERY` events whether the caller's deadline has
    passed (this module never reads a clock); once it has, the export stops writing events
    and closes the file at once, saying in its closing line how many were left out.
    """
    header = session_header(conn, session)
    partial = partial_reasons(conn, session)
    with _open_private(out) as f:
        w = _Writer(f)
        w.line({"format": FORMAT, "version": VERSION, "session": header})
        written, cut = 0, False
        for rec in events(conn, session):
            if expired is not None and written % DEADLINE_EVERY == 0 and expired():
                cut = True
                break
            e = rec.event
            w.line({"seq": rec.seq, "wall": e.wall, "mono": e.mono, "source": e.source,
                    "kind": e.kind, "name": e.name, "from": e.from_state, "to": e.to_state,
                    "data": _portable(e.data)})
            written += 1
            if progress is not None and not written % PROGRESS_EVERY:
                progress(PROGRESS_EVERY)
        if progress is not None:
            progress(written % PROGRESS_EVERY)
        if cut:
            partial = [*partial, f"the export stopped at its deadline after {written} of "
                                 f"{count(conn, session)} events"]
        w.close(written, partial, key)
    return Exported(written, w.prev.decode(), partial, key is not None, not cut)


def fingerprint(path: Path) -> str:
    """The last line's hash: it vouches for the whole file."""
    reader = TranscriptReader(path)
    for _ in reader.lines():
        pass
    return reader.fingerprint


@contextmanager
def _open_private(out: Path | str) -> Iterator[IO[bytes]]:
    if str(out) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file was there before with a wider mode
    with os.fdopen(fd, "wb", buffering=1 << 20) as f:
        yield f


def _portable(data: Any) -> Any:
    """The data as plain JSON values; bytes (at any depth) as {"$utf8": text} when they are
    UTF-8, so a person can read the frames, else {"$b64": ...}. Both come back as bytes."""
    if isinstance(data, (bytes, bytearray)):
        try:
            return {"$utf8": bytes(data).decode("utf-8")}
        except UnicodeDecodeError:
            return {"$b64": base64.b64encode(data).decode("ascii")}
    if isinstance(data, dict):
        return {str(k): _portable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_portable(v) for v in data]
    return data


def from_portable(value: Any) -> Any:
    """A value as exported, back as recorded: {"$utf8"}/{"$b64"} at any depth as bytes."""
    kind = type(value)
    if kind is dict:
        if len(value) == 1:
            if "$utf8" in value:
                return value["$utf8"].encode("utf-8")
            if "$b64" in value:
                return base64.b64decode(value["$b64"])
        for v in value.values():
            if type(v) is dict or type(v) is list:
                return {k: from_portable(v) for k, v in value.items()}
        return value  # most payloads: flat, nothing to undo (and freshly parsed: no copy)
    if kind is list:
        return [from_portable(v) for v in value]
    return value


class TranscriptReader:
    """A transcript read line by line, each line checked before it is used; the header is
    read (and checked) at once. Iterating raises TranscriptAltered at the first bad line.
    Once read to the end: `events`, `fingerprint`, `partial` and `sig` (None: unsigned)."""

    def __init__(self, path: Path, progress: Progress | None = None) -> None:
        self.path = Path(path)
        self.progress = progress  # told how many more lines were read, every PROGRESS_EVERY
        if not self.path.is_file():
            raise FileNotFoundError(f"no transcript at {self.path}")
        self.events = 0
        self.fingerprint = ""
        self.partial: list[str] = []
        self.sig: Any = None
        self._signed = (b"", b"")  # the hash before the closing line, the closing line's text
        with self.path.open("rb") as f:
            first = f.readline()
        self.header: dict[str, Any] = self._head(first)

    def _head(self, first: bytes) -> dict[str, Any]:
        if first.startswith(BOM) and _parses(first[len(BOM):]):
            raise TranscriptAltered(self.path, 1, "starts with a byte order mark, which export "
                                    "never writes (an editor saved the file)")
        try:
            head = fastjson.loads(first)
        except ValueError:
            if f'"format":"{FORMAT}"'.encode() in first:
                raise TranscriptAltered(self.path, 1, "is not valid JSON") from None
            raise ValueError(f"{self.path} is not a krunner transcript") from None
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            raise ValueError(f"{self.path} is not a krunner transcript")
        if head.get("version") != VERSION:
            raise TranscriptAltered(self.path, 1, f"has format version {head.get('version')!r}"
                                    f"; this krunner reads version {VERSION} (files of an "
                                    "older version carry no integrity check: export again)")
        why = plausible.session_problem(head.get("session"))
        if why:
            raise TranscriptAltered(self.path, 1, why)
        return head

    def lines(self, kinds: frozenset[str] | None = None) -> Iterator[dict[str, Any]]:
        """The event lines, parsed, each after its hash checked out; with `kinds`, lines of
        other kinds are checked but not parsed. (One loop, its steps inline: it runs once a
        line, and offline replay of a million events spends half its time here.)"""
        path, prev, number, ended = self.path, b"", 0, False
        wanted = None if kinds is None else frozenset(k.encode() for k in kinds)
        seed = hashlib.blake2b(digest_size=16)  # copied a line: cheaper than made anew
        problem, tick = plausible.event_problem, self.progress
        loads = fastjson.orjson.loads if fastjson.orjson is not None else fastjson.loads
        with path.open("rb") as f:
            for number, raw in enumerate(f, 1):
                if tick is not None and not number % PROGRESS_EVERY:
                    tick(PROGRESS_EVERY)
                if ended:
                    raise TranscriptAltered(path, number, "follows the closing line")
                line = raw[:-1] if raw[-1:] == b"\n" else raw
                if (len(line) <= SUFFIX or line[-SUFFIX:-SUFFIX + 6] != b',"h":"'
                        or line[-2:] != b'"}'):
                    raise TranscriptAltered(path, number, "has no integrity hash")
                chain = seed.copy()  # as _chained(prev, body), in two updates
                chain.update(prev)
                chain.update(line[:-SUFFIX])
                before, prev = prev, hexlify(chain.digest())
                if line[-34:-2] != prev:
                    raise TranscriptAltered(path, number, "was changed, or lines before it "
                                            "were changed, moved, added or removed")
                # an event line's first `,"kind":"` is the key itself (a quote inside a
                # string value is escaped); the closing line has none: parse it
                at = -1 if wanted is None or number == 1 else raw.find(b',"kind":"')
                if at >= 0 and raw[at + 9:raw.index(b'"', at + 9)] not in wanted:  # type: ignore[operator]
                    continue
                try:
                    obj = loads(raw)
                except (ValueError, RecursionError):
                    raise TranscriptAltered(self.path, number, "is not valid JSON (or nests "
                                            "deeper than a runner records)") from None
                if number == 1:
                    continue
                if type(obj) is not dict:
                    raise TranscriptAltered(self.path, number, "is not a JSON object")
                if "end" in obj:
                    ended = True
                    self._closing(obj, number, before, raw)
                    continue
                why = problem(obj)
                if why:
                    raise TranscriptAltered(path, number, why)
                yield obj
        if tick is not None:
            tick(number % PROGRESS_EVERY)
        if not ended:
            raise TranscriptAltered(path, number + 1, "is missing: the file ends before "
                                    "its closing line (it was cut)")
        self.events, self.fingerprint = number - 2, prev.decode()

    def _closing(self, obj: dict[str, Any], number: int, before: bytes, raw: bytes) -> None:
        if obj.get("events") != number - 2:
            raise TranscriptAltered(self.path, number, "counts a different number of events "
                                    "than the file holds")
        partial = obj.get("partial", [])
        if not isinstance(partial, list) or not all(isinstance(p, str) for p in partial):
            raise TranscriptAltered(self.path, number, "says why the session is partial in a "
                                    "form export never writes")
        self.partial, self.sig = partial, obj.get("sig")
        self._signed = (before, raw.rstrip(b"\n")[:-SUFFIX])

    def partial_reasons(self) -> list[str]:
        """Why the file does not hold the whole session (after reading it to the end); a
        file exported before the closing line said so still shows a session never ended."""
        reasons = list(self.partial)
        session = self.header["session"]
        if session.get("ended_wall") is None and not any(r.startswith(NOT_ENDED)
                                                          for r in reasons):
            reasons.insert(0, f"{NOT_ENDED} (it had not ended when it was exported: its runner "
                              "was still running, or had been killed)")
        return reasons

    def signature_problem(self, key: bytes) -> str | None:
        """None when `key` signed this file (after reading it to the end); else why not."""
        return seal.check(key, self.sig, *self._signed)

    def recorded(self) -> Iterator[Recorded]:
        session = self.header["session"]["id"]
        for d in self.lines():
            event = Event(d["source"], d["kind"], d["name"], from_portable(d["data"]),
                          d["from"], d["to"], d["wall"], d["mono"])
            yield Recorded(d["seq"], session, event)

    def rows(self, kinds: tuple[str, ...], data_of: tuple[str, ...]) -> Iterator[Row]:
        """Lean rows for offline replay (see `reader.rows`): other kinds skipped, data
        decoded only for `data_of`."""
        for d in self.lines(frozenset(kinds)):
            kind = d["kind"]
            if kind in kinds:
                data = from_portable(d["data"]) if kind in data_of else None
                yield d["seq"], d["source"], kind, d["name"], data, d["from"], d["to"]


def _parses(text: bytes) -> bool:
    try:
        fastjson.loads(text)
    except ValueError:
        return False
    return True


def load(path: Path) -> tuple[dict[str, Any], list[Recorded]]:
    """The header and every event of a transcript file (held in memory: small files)."""
    reader = TranscriptReader(path)
    return reader.header, list(reader.recorded())


def verify(path: Path, progress: Progress | None = None) -> TranscriptReader:
    """Read the whole file, checking every line; TranscriptAltered names the first bad one."""
    reader = TranscriptReader(path, progress)
    for _ in reader.lines():
        pass
    return reader


def import_into(path: Path, log_path: Path) -> str:
    """Load a transcript into a log file as its own session; the session id (see
    `import_transcript`)."""
    return import_transcript(path, log_path)[0]


def import_transcript(path: Path, log_path: Path, progress: Progress | None = None
                      ) -> tuple[str, list[str]]:
    """Load a transcript into a log file as its own session, through the log's writer,
    streaming, committed in chunks; an altered file leaves nothing behind. The session id,
    and why the transcript is not the whole session. What the log could not otherwise tell
    (events pruned, an export cut at its deadline) becomes one `LogGap` event at the end, so
    the imported session never reads as whole."""
    reader = TranscriptReader(path, progress)
    store.import_session(log_path, reader.header["session"], _stored_rows(reader))
    return str(reader.header["session"]["id"]), reader.partial_reasons()


def _stored_rows(reader: TranscriptReader) -> Iterator[store.StoredRow]:
    wall = mono = 0.0
    for d in reader.lines():
        wall, mono = d["wall"], d["mono"]
        yield (wall, mono, d["source"], d["kind"], d["name"], d["from"], d["to"],
               encode(from_portable(d["data"])))
    unsaid = [r for r in reader.partial if not r.startswith((NOT_ENDED, GAPS_SAID))]
    if unsaid:
        gap = {"reason": "imported from a partial transcript: " + "; ".join(unsaid),
               "lost_events": 0, "lost_bytes": 0, "from_wall": None, "to_wall": None}
        yield wall, mono, KERNEL, OBSERVATION, GAP_EVENT, None, None, encode(gap)
