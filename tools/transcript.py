"""`python -m tools.transcript`: export a session to a portable file, or import one into a log.

    export --log events.sqlite3 [--session ID] --out session.jsonl
    import session.jsonl --log other.sqlite3

Exit codes: 0 done, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from transcripts.location import resolve_log_path
from transcripts.reader import latest_session, open_readonly
from transcripts.transcript import export, import_into


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="transcript", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write one session as JSON Lines")
    e.add_argument("--log", default=None)
    e.add_argument("--session", default=None, help="default: the latest")
    e.add_argument("--out", required=True)
    i = sub.add_parser("import", help="load a transcript into a log file")
    i.add_argument("file")
    i.add_argument("--log", required=True)
    args = p.parse_args(argv)
    try:
        if args.command == "export":
            conn = open_readonly(resolve_log_path(args.log))
            session = args.session or latest_session(conn)
            if session is None:
                raise LookupError("the log holds no session")
            count = export(conn, session, Path(args.out))
            print(f"exported {count} events of session {session} to {args.out}",
                  file=sys.stderr)
        else:
            session = import_into(Path(args.file), Path(args.log))
            print(f"imported session {session} into {args.log}", file=sys.stderr)
    except (OSError, LookupError, ValueError, sqlite3.Error) as err:
        print(f"transcript: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
