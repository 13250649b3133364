"""`krunner-inspect` (`python -m tools.inspect`): sessions, timelines, events and model health
from one or several logs (`--log` repeated, or a glob), read-only.

Data goes to stdout, diagnostics to stderr; exit 0 ok, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools import logs as logset
from tools.inspect import events as ev
from tools.inspect import health, health_text, picture, render
from transcripts.reader import LogFile, query, session_key

TIMELINE_SQL = """
SELECT seq, wall AS time, source, trigger, from_state, to_state, seconds_in_state
FROM machine_timeline WHERE session = ? AND (? IS NULL OR source = ?) ORDER BY seq
"""


def _common(parser: argparse.ArgumentParser, *, defaults: bool) -> argparse.ArgumentParser:
    """Options accepted before and after the subcommand alike (after it, one that is not
    given must not override one given before)."""
    unset = argparse.SUPPRESS
    parser.add_argument("--log", action="append", default=None if defaults else unset,
                        help="event log file or glob; repeat for several "
                             "(default: the runner's log)")
    parser.add_argument("--session", default=None if defaults else unset,
                        help="session id or a unique prefix; 'all' for every one")
    parser.add_argument("--format", choices=("table", "json", "jsonl"),
                        default="table" if defaults else unset)
    parser.add_argument("--utc", action="store_true", default=False if defaults else unset,
                        help="times in UTC (default: local time, with its offset)")
    return parser


def parser() -> argparse.ArgumentParser:
    p = _common(argparse.ArgumentParser(prog="krunner-inspect", description=__doc__,
                                        formatter_class=argparse.RawDescriptionHelpFormatter),
                defaults=True)
    common = _common(argparse.ArgumentParser(add_help=False), defaults=False)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("sessions", parents=[common], help="every runner start in the logs")
    t = sub.add_parser("timeline", parents=[common], help="each machine's states")
    t.add_argument("--source", default=None, help="one machine, e.g. run:1 or model:llm")
    e = sub.add_parser("events", parents=[common], help="the events, filtered and paged")
    e.add_argument("--source", default=None, help="one stream, e.g. run:1 or kernel")
    e.add_argument("--kind", default=None, help="input, output, transition, observation ...")
    e.add_argument("--since", default=None, help="a time (ISO 8601) or an age: 10m, 2h, 1d")
    e.add_argument("--until", default=None, help="a time (ISO 8601) or an age: 10m, 2h, 1d")
    e.add_argument("-n", "--limit", type=int, default=200, help="rows shown (0: all)")
    e.add_argument("--full", action="store_true", help="whole payloads, not cut to a line")
    e.add_argument("--raw", action="store_true",
                   help="payloads as written, escape sequences and all (by default control "
                        "characters are shown escaped, so output cannot drive your terminal)")
    e.add_argument("-f", "--follow", action="store_true",
                   help="keep printing events as a live runner writes them (Ctrl-C ends)")
    h = sub.add_parser("health", parents=[common],
                       help="each model service's health: uptime, flaps, MTTR, probes")
    h.add_argument("--model", default=None, help="one model service (default: all)")
    h.add_argument("--probes", default="20",
                   help="how many of the last probes to list, or 'all' (default 20)")
    h.add_argument("--transitions", default="20",
                   help="how many of the last transitions to list, or 'all' (default 20)")
    h.add_argument("--picture", action="append", default=[], metavar="FILE",
                   help="also draw the history to FILE (.svg or .png; repeatable)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with render.quiet_pipe():
        try:
            logs = logset.open_all(args.log)
            return COMMANDS[args.command](logs, args)
        except KeyboardInterrupt:
            return 0
        except BrokenPipeError:
            raise  # quiet_pipe's
        except (sqlite3.Error, OSError, LookupError, ValueError) as e:
            print(f"inspect: {e}", file=sys.stderr)
            return 2


def _sessions(logs: list[LogFile], args: argparse.Namespace) -> int:
    refs = logset.all_sessions(logs)
    rows = [render.with_times({
        "session": r.id, "started": r.row["started_wall"], "ended": r.row["ended_wall"],
        "language": r.row["language"], "host": r.row["host"], "pid": r.row["pid"],
        "events": _count(r), "log": r.label}, args.utc) for r in refs]
    if args.format == "table":
        for row in rows:
            row["ended"] = row["ended"] or "(no clean end)"
    _emit(rows, args)
    if any(r.row["ended_wall"] is None for r in refs):
        print(f"note: (no clean end): {logset.UNCLEAN}", file=sys.stderr)
    return 0


def _count(ref: logset.SessionRef) -> int:
    return int(ref.log.conn.execute("SELECT count(*) FROM events WHERE session = ?",
                                    (session_key(ref.log.conn, ref.id),)).fetchone()[0])


def _timeline(logs: list[LogFile], args: argparse.Namespace) -> int:
    refs = _chosen(logs, args)
    rows = []
    for ref in refs:
        _warn_unclean(ref)
        for row in query(ref.log.conn, TIMELINE_SQL, (ref.id, args.source, args.source)):
            rows.append(render.with_times(_labelled(row, ref, len(refs) > 1), args.utc))
    _emit(rows, args)
    return 0


def _events(logs: list[LogFile], args: argparse.Namespace) -> int:
    refs = _chosen(logs, args)
    for ref in refs:
        _warn_unclean(ref)
    f = ev.Filter(args.source, args.kind, ev.parse_time(args.since, args.utc),
                  ev.parse_time(args.until, args.utc))
    shown = ev.Shown(len(refs) > 1 or len(logs) > 1 or (args.follow and not args.session),
                     None if args.full else render.terminal_width(), args.utc, args.raw)
    if not args.follow or args.since:  # following starts now, unless told to start earlier
        ev.show(refs, f, max(args.limit, 0), args.format, shown)
    if args.follow:
        ev.follow(logs, refs[0] if args.session and len(refs) == 1 else None, f,
                  "jsonl" if args.format == "json" else args.format, shown)
    return 0


def _health(logs: list[LogFile], args: argparse.Namespace) -> int:
    refs = logset.choose_sessions(logs, args.session)
    found = health.summaries(refs, args.model, _count_arg(args.probes, "--probes"),
                             _count_arg(args.transitions, "--transitions"))
    for path in args.picture:
        picture.save(found, refs, Path(path), args.utc)
        print(f"picture of {len(found)} model(s) written to {path}", file=sys.stderr)
    for s in found:
        if s["until"] is not None and _unclean(refs, s["session"]):
            print(f"note: session {s['session'][:8]}: {logset.UNCLEAN}", file=sys.stderr)
    if args.format == "table":
        width = render.terminal_width()
        print("\n\n".join(health_text.as_text(s, args.utc, width) for s in found)
              or "(no model service recorded)")
    else:
        _emit([health_text.as_json(s, args.utc) for s in found], args, times=False)
    return 0


def _count_arg(value: str, flag: str) -> int | None:
    """A count flag: a number of rows, or 'all' (None)."""
    if value == "all":
        return None
    if not value.isdigit():
        raise ValueError(f"{flag} takes a number or 'all', not {value!r}")
    return int(value)


def _chosen(logs: list[LogFile], args: argparse.Namespace) -> list[logset.SessionRef]:
    """The session named (or all), else the latest one."""
    if args.session:
        return logset.choose_sessions(logs, args.session)
    return [logset.find_session(logs, None)]


def _unclean(refs: list[logset.SessionRef], session: str) -> bool:
    return any(r.id == session and r.row["ended_wall"] is None for r in refs)


def _warn_unclean(ref: logset.SessionRef) -> None:
    if ref.row["ended_wall"] is None:
        print(f"note: session {ref.id[:8]}: {logset.UNCLEAN}", file=sys.stderr)


def _labelled(row: dict[str, Any], ref: logset.SessionRef, label: bool) -> dict[str, Any]:
    return {"log": ref.label, "session": ref.id[:8], **row} if label else row


def _emit(rows: list[dict[str, Any]], args: argparse.Namespace, times: bool = True) -> None:
    if args.format == "json":
        print(render.to_json(rows))
    elif args.format == "jsonl":
        render.json_lines(rows, sys.stdout.write)
    else:
        print(render.table(rows) if rows else "(nothing recorded)")


COMMANDS = {"sessions": _sessions, "timeline": _timeline, "events": _events,
            "health": _health}
