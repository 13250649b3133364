"""`krunner-transcript` (`python -m tools.transcript`): portable, tamper-evident transcripts.

    export --log events.sqlite3 [--session ID] --out session.jsonl   (--out -: stdout)
    verify session.jsonl [--fingerprint HASH]
    import session.jsonl --log other.sqlite3
    prune --log events.sqlite3 --before 30d

Exit codes: 0 done (verify: intact), 1 verify: the file was altered (the first bad line is
named) or is not the one fingerprinted, 2 bad usage or unreadable input (an altered file
given to import is refused so, and nothing is imported).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from tools import logs as logset
from tools.inspect.events import parse_time
from tools.inspect.render import iso, quiet_pipe
from transcripts import store
from transcripts.location import resolve_log_path
from transcripts.transcript import TranscriptAltered, export, fingerprint, import_into, verify


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="krunner-transcript", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write one session as JSON Lines")
    e.add_argument("--log", action="append", default=None, help="log file or glob (repeat)")
    e.add_argument("--session", default=None, help="id or unique prefix (default: latest)")
    e.add_argument("--out", required=True, help="the file to write, or - for stdout")
    v = sub.add_parser("verify", help="check that a transcript is as it was exported")
    v.add_argument("file")
    v.add_argument("--fingerprint", default=None, help="the hash export printed")
    i = sub.add_parser("import", help="load a transcript into a log file")
    i.add_argument("file")
    i.add_argument("--log", required=True)
    r = sub.add_parser("prune", help="delete a log's events older than a time")
    r.add_argument("--log", default=None, help="the log (default: the runner's)")
    r.add_argument("--before", required=True, help="ISO 8601 time or an age: 30d, 12h")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with quiet_pipe():
            return COMMANDS[args.command](args)
    except TranscriptAltered as err:
        print(f"transcript: ALTERED: {err}", file=sys.stderr)
        return 1 if args.command == "verify" else 2
    except BrokenPipeError:
        raise
    except (OSError, LookupError, ValueError, sqlite3.Error) as err:
        print(f"transcript: {err}", file=sys.stderr)
        return 2


def _export(args: argparse.Namespace) -> int:
    ref = logset.find_session(logset.open_all(args.log), args.session)
    count = export(ref.log.conn, ref.id, args.out)
    where = "stdout" if args.out == "-" else args.out
    print(f"exported {count} events of session {ref.id} to {where}", file=sys.stderr)
    if args.out != "-":
        print(f"fingerprint {fingerprint(Path(args.out))}", file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace) -> int:
    reader = verify(Path(args.file))
    if args.fingerprint and args.fingerprint != reader.fingerprint:
        print(f"transcript: {args.file} checks out line by line, but its fingerprint is "
              f"{reader.fingerprint}, not {args.fingerprint}: it is not the file exported",
              file=sys.stderr)
        return 1
    print(f"{args.file}: intact, {reader.events} events of session "
          f"{reader.header['session']['id']}, fingerprint {reader.fingerprint}")
    return 0


def _import(args: argparse.Namespace) -> int:
    session = import_into(Path(args.file), Path(args.log))
    print(f"imported session {session} into {args.log}", file=sys.stderr)
    return 0


def _prune(args: argparse.Namespace) -> int:
    before = parse_time(args.before, utc=False)
    assert before is not None
    path = resolve_log_path(args.log)
    if not path.is_file():
        raise FileNotFoundError(f"no event log at {path}")
    deleted = store.prune(path, before)
    print(f"deleted {deleted} events recorded before {iso(before)} from {path}",
          file=sys.stderr)
    return 0


COMMANDS = {"export": _export, "verify": _verify, "import": _import, "prune": _prune}


if __name__ == "__main__":
    sys.exit(main())
