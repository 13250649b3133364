"""What vouches for an exported transcript beyond its hash chain: its fingerprint kept where
the transcript's reader cannot change it, and an HMAC signature with the operator's key.

A hash chain catches edits but not a forger who recomputes it. So the runner prints the
fingerprint (the last line's hash) on its stderr, which the agent keeps as the container's
log, and records it in the log's session row (`sessions.fingerprint`; older logs lack the
column, and readers say so). With a key file the operator gives the runner
(`KRUNNER_TRANSCRIPT_KEY_FILE`, kept out of the image and out of the user's reach), the
closing line also carries `"sig"`: HMAC-SHA256 over the previous line's hash and the closing
line's own text, so the whole file is vouched for by a key the user never held.

It never reads a clock, and reads a key file only when asked to; it must not write a log's
events (only the session row's fingerprint).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
from pathlib import Path
from typing import Any

KEY_ENV = "KRUNNER_TRANSCRIPT_KEY_FILE"
ALGORITHM = "hmac-sha256"
MIN_KEY_BYTES = 16
SIG_FIELD = b',"sig":'


class BadKey(ValueError):
    """A key file that cannot serve as a key (missing, unreadable, too short)."""


def read_key(path: str | os.PathLike[str]) -> bytes:
    """The key in a file (its bytes as they are, one trailing newline dropped)."""
    try:
        key = Path(path).read_bytes()
    except OSError as e:
        raise BadKey(f"cannot read the transcript key file {path}: {e.strerror or e}") from None
    key = key[:-1] if key.endswith(b"\n") else key
    if len(key) < MIN_KEY_BYTES:
        raise BadKey(f"the transcript key file {path} holds {len(key)} bytes; a key needs at "
                     f"least {MIN_KEY_BYTES} (make one: head -c 32 /dev/urandom > FILE)")
    return key


def key_id(key: bytes) -> str:
    """A short name of a key (a hash of it), so a reader can tell which key signed."""
    return hashlib.sha256(b"krunner-transcript-key\0" + key).hexdigest()[:12]


def mac(key: bytes, prev_hash: bytes, closing_body: bytes) -> str:
    """The signature of a transcript whose last event line hashed to `prev_hash` and whose
    closing line, without its `"sig"` field and hash, is `closing_body`."""
    return hmac.new(key, prev_hash + b"\n" + closing_body, hashlib.sha256).hexdigest()


def signature(key: bytes, prev_hash: bytes, closing_body: bytes) -> dict[str, str]:
    return {"alg": ALGORITHM, "key_id": key_id(key),
            "mac": mac(key, prev_hash, closing_body)}


def unsigned_body(closing_body: bytes) -> bytes:
    """A closing line's text as it was signed: `"sig"` is its last field, cut off here."""
    at = closing_body.rfind(SIG_FIELD)
    return closing_body if at < 0 else closing_body[:at]


def check(key: bytes, sig: Any, prev_hash: bytes, closing_body: bytes) -> str | None:
    """None when `sig` is this key's signature of the file; else what is wrong."""
    if not isinstance(sig, dict):
        return "it is not signed (signed transcripts carry \"sig\" in their closing line)"
    if sig.get("alg") != ALGORITHM:
        return f"its signature is of an unknown kind {sig.get('alg')!r}"
    if sig.get("key_id") != key_id(key):
        return (f"it was signed with another key (id {sig.get('key_id')}; the key given has "
                f"id {key_id(key)})")
    want = mac(key, prev_hash, unsigned_body(closing_body))
    if not isinstance(sig.get("mac"), str) or not hmac.compare_digest(sig["mac"], want):
        return "its signature does not match: the file was changed after it was signed"
    return None


def has_fingerprint_column(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "fingerprint"
               for row in conn.execute("PRAGMA table_info(sessions)"))


def recorded_fingerprint(conn: sqlite3.Connection, session: str) -> str | None:
    """The fingerprint the runner recorded for `session` when it exported it at exit (None:
    none recorded, or a log older than the column). LookupError: no such session."""
    if not has_fingerprint_column(conn):
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session,)).fetchone() is None:
            raise LookupError(f"no session {session} in the log")
        return None
    row = conn.execute("SELECT fingerprint FROM sessions WHERE id = ?", (session,)).fetchone()
    if row is None:
        raise LookupError(f"no session {session} in the log")
    return row[0]


def record_fingerprint(conn: sqlite3.Connection, session: str, fingerprint: str) -> None:
    """Keep an exported transcript's fingerprint in its session's row (a writable connection
    on a log whose writer has closed; an older log gets the column first)."""
    if not has_fingerprint_column(conn):
        conn.execute("ALTER TABLE sessions ADD COLUMN fingerprint TEXT")
    conn.execute("UPDATE sessions SET fingerprint = ? WHERE id = ?", (fingerprint, session))
