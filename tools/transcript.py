"""`krunner-transcript` (`python -m tools.transcript`): portable, tamper-evident transcripts.

    export --log events.sqlite3 [--session ID] --out session.jsonl [--key-file KEY]
    verify session.jsonl [--fingerprint HASH | --log events.sqlite3] [--key-file KEY]
    import session.jsonl --log other.sqlite3
    report session.jsonl -o report.html       (or --log events.sqlite3 [--session ID])
    prune --log events.sqlite3 --before 30d

Exit codes: 0 done (verify: intact, and the whole session), 1 verify: the file was altered
(the first bad line is named), is not the one fingerprinted, or not signed with the key
given, 2 bad usage or unreadable input (an altered file given to import is refused so, and
nothing is imported; verify --log on a log that kept no fingerprint of the session),
3 done, but what was read is partial: the session never ended (its runner was still running
or was killed), its writer recorded gaps, retention pruned some of it, or the export stopped
at its deadline (export, verify and import say which; import keeps it said, as a LogGap).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from tools import logs as logset
from tools.inspect.events import parse_time
from tools.inspect.render import iso, quiet_pipe, visible
from tools.progress import lines_in, progress, waiting
from tools.report import cli as report_cli
from transcripts import seal, store
from transcripts.location import resolve_log_path
from transcripts.reader import count, open_readonly
from transcripts.transcript import (
    TranscriptAltered,
    TranscriptReader,
    export,
    import_transcript,
    verify,
)

PARTIAL = 3  # exit code: done, but what was read is not the whole session


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="krunner-transcript", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write one session as JSON Lines")
    e.add_argument("--log", action="append", default=None, help="log file or glob (repeat)")
    e.add_argument("--session", default=None, help="id or unique prefix (default: latest)")
    e.add_argument("--out", required=True, help="the file to write, or - for stdout")
    e.add_argument("--key-file", default=None, help="sign with the key in this file")
    v = sub.add_parser("verify", help="check that a transcript is as it was exported")
    v.add_argument("file")
    fp = v.add_mutually_exclusive_group()
    fp.add_argument("--fingerprint", default=None, help="the hash export printed")
    fp.add_argument("--log", default=None,
                    help="take the fingerprint from the session's row in this log (the runner "
                         "records it when it exports at exit)")
    v.add_argument("--key-file", default=None,
                   help="check the signature with the key in this file")
    i = sub.add_parser("import", help="load a transcript into a log file")
    i.add_argument("file")
    i.add_argument("--log", required=True)
    r = sub.add_parser("prune", help="delete a log's events older than a time")
    r.add_argument("--log", default=None, help="the log (default: the runner's)")
    r.add_argument("--before", required=True, help="ISO 8601 time or an age: 30d, 12h")
    for command in (e, v, i, r):
        command.add_argument("-q", "--quiet", action="store_true",
                             help="no progress on the terminal (none in a pipe either)")
    report_cli.add_parser(sub)
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
    except (OSError, LookupError, ValueError, sqlite3.Error, RecursionError) as err:
        print(f"transcript: {err}", file=sys.stderr)
        return 2


def _export(args: argparse.Namespace) -> int:
    key = seal.read_key(args.key_file) if args.key_file else None
    ref = logset.find_session(logset.open_all(args.log), args.session)
    total = count(ref.log.conn, ref.id)
    with progress("exporting", total, quiet=args.quiet or args.out == "-") as tick:
        done = export(ref.log.conn, ref.id, args.out, key=key, progress=tick)
    where = "stdout" if args.out == "-" else args.out
    signed = ", signed" if done.signed else ""
    print(f"exported {done.events} events of session {ref.id} to {where}{signed}",
          file=sys.stderr)
    print(f"fingerprint {done.fingerprint}", file=sys.stderr)
    return _said_partial(done.partial, "the transcript holds")


def _said_partial(reasons: list[str], what: str) -> int:
    """Say on stderr why what was read is not the whole session; the exit code."""
    if not reasons:
        return 0
    print(visible(f"transcript: PARTIAL: {what} only part of the session: "
                  + "; ".join(reasons)), file=sys.stderr)
    return PARTIAL


def _verify(args: argparse.Namespace) -> int:
    key = seal.read_key(args.key_file) if args.key_file else None
    with progress("verifying", lines_in(Path(args.file)), quiet=args.quiet) as tick:
        reader = verify(Path(args.file), tick)
    expected = args.fingerprint or (_logged_fingerprint(reader, args.log) if args.log else None)
    if expected and expected != reader.fingerprint:
        source = f"the one {args.log} recorded" if args.log else "the one given"
        print(f"transcript: {args.file} checks out line by line, but its fingerprint is "
              f"{reader.fingerprint}, not {expected} ({source}): it is not the file exported",
              file=sys.stderr)
        return 1
    problem = reader.signature_problem(key) if key is not None else None
    if problem:
        print(visible(f"transcript: {args.file} checks out line by line, but {problem}"),
              file=sys.stderr)
        return 1
    reasons = reader.partial_reasons()
    verdict = "intact" + (", partial: " + "; ".join(reasons) if reasons else "")
    # what the file says (its reasons, its session id) is shown, never run by the terminal
    print(visible(f"{args.file}: {verdict}, {reader.events} events of session "
                  f"{reader.header['session']['id']}, fingerprint {reader.fingerprint}"
                  f"{_vouched(reader, key, expected)}"))
    return PARTIAL if reasons else 0


def _vouched(reader: TranscriptReader, key: bytes | None, expected: str | None) -> str:
    said = ", as recorded" if expected else ""
    if key is not None:
        return said + f", signed with key {seal.key_id(key)}"
    if isinstance(reader.sig, dict):
        return said + f" (signed with key {reader.sig.get('key_id')}: --key-file checks it)"
    return said


def _logged_fingerprint(reader: TranscriptReader, log: str) -> str:
    session = str(reader.header["session"]["id"])
    conn = open_readonly(log)
    try:
        found = seal.recorded_fingerprint(conn, session)
    finally:
        conn.close()
    if not found:
        raise LookupError(f"{log} keeps no fingerprint of session {session} (the runner "
                          "records one only when it exports the session at exit; an older "
                          "runner never did): nothing to compare with")
    return found


def _import(args: argparse.Namespace) -> int:
    with progress("importing", lines_in(Path(args.file)), quiet=args.quiet) as tick:
        session, partial = import_transcript(Path(args.file), Path(args.log), tick)
    print(f"imported session {session} into {args.log}", file=sys.stderr)
    return _said_partial(partial, "the transcript held")


def _prune(args: argparse.Namespace) -> int:
    before = parse_time(args.before, utc=False)
    assert before is not None
    path = resolve_log_path(args.log)
    if not path.is_file():
        raise FileNotFoundError(f"no event log at {path}")
    with waiting(f"pruning {path}", quiet=args.quiet):
        deleted = store.prune(path, before)
    print(f"deleted {deleted} events recorded before {iso(before)} from {path}",
          file=sys.stderr)
    return 0


COMMANDS = {"export": _export, "verify": _verify, "import": _import, "prune": _prune,
            "report": report_cli.run}


if __name__ == "__main__":
    sys.exit(main())
