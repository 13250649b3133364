"""`python -m tools.inspect`: sessions, machine timelines, events and model health from a log.

Data goes to stdout, diagnostics to stderr; exit 0 ok, 2 bad usage or unreadable log.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Sequence
from typing import Any

from transcripts.location import resolve_log_path
from transcripts.reader import latest_session, open_readonly, query, sessions

HEALTH_SQL = """
SELECT seq, wall, model, kind, name, from_state, to_state, reason, status, latency_ms
FROM model_health WHERE session = ? AND (? IS NULL OR model = ?) ORDER BY seq
"""
TIMELINE_SQL = """
SELECT seq, wall, source, trigger, from_state, to_state, seconds_in_state
FROM machine_timeline WHERE session = ? AND (? IS NULL OR source = ?) ORDER BY seq
"""
EVENTS_SQL = """
SELECT seq, wall, source, kind, name, from_state, to_state,
       CASE WHEN typeof(data) = 'blob' THEN '<' || length(data) || ' bytes>' ELSE data END AS data
FROM events WHERE session = (SELECT key FROM sessions WHERE id = ?)
  AND (? IS NULL OR source = ?) ORDER BY seq LIMIT ?
"""


def render_table(rows: list[dict[str, Any]]) -> str:
    """Plain aligned columns, for people."""
    if not rows:
        return "(nothing recorded)"
    cols = list(rows[0])
    cells = [[_cell(r[c], c) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


TIME_COLUMNS = frozenset({"wall", "started_wall", "ended_wall"})


def _cell(value: Any, column: str = "") -> str:
    if value is None:
        return "-"
    if column in TIME_COLUMNS and isinstance(value, float):
        return time.strftime("%H:%M:%S", time.localtime(value)) + f"{value % 1:.3f}"[1:]
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def render_picture(rows: list[dict[str, Any]]) -> str:
    """One line per model: a character per event (+ probe ok, x probe failed, ! exit) and states."""
    marks = {"ProbeSucceeded": "+", "ProbeFailed": "x", "ProcessExited": "!"}
    lines: dict[str, list[str]] = {}
    for r in rows:
        line = lines.setdefault(r["model"], [])
        if r["kind"] == "transition":
            line.append(f"[{(r['to_state'] or '?').upper()}]")
        elif r["name"] in marks:
            line.append(marks[r["name"]])
    legend = "legend: + probe ok, x probe failed, ! process exited, [STATE] transition"
    return "\n".join([*(f"{m}: {''.join(c)}" for m, c in lines.items()), legend])


def _common(parser: argparse.ArgumentParser, *, defaults: bool) -> argparse.ArgumentParser:
    """--log, --session and --format, accepted before and after the subcommand alike (after
    it, an option that is not given must not override one given before)."""
    unset = argparse.SUPPRESS
    parser.add_argument("--log", default=None if defaults else unset,
                        help="event log file (default: as the runner's)")
    parser.add_argument("--session", default=None if defaults else unset,
                        help="session id (default: the latest)")
    parser.add_argument("--format", choices=("table", "json", "picture"),
                        default="table" if defaults else unset)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    p = _common(argparse.ArgumentParser(prog="inspect", description=__doc__), defaults=True)
    common = _common(argparse.ArgumentParser(add_help=False), defaults=False)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("sessions", parents=[common], help="every runner start recorded in the log")
    for name in ("timeline", "events"):
        s = sub.add_parser(name, parents=[common], help=f"the session's {name}")
        s.add_argument("--source", default=None, help="one stream, e.g. run:1 or kernel")
        if name == "events":
            s.add_argument("--limit", type=int, default=1000)
    h = sub.add_parser("health", parents=[common], help="each model service's health history")
    h.add_argument("--model", default=None)
    args = p.parse_args(argv)
    try:
        conn = open_readonly(resolve_log_path(args.log))
        rows = _query(conn, args)
    except (sqlite3.Error, OSError, LookupError) as e:
        print(f"inspect: {e}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    elif args.format == "picture" and args.command == "health":
        print(render_picture(rows))
    else:
        print(render_table(rows))
    return 0


def _query(conn: sqlite3.Connection, args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.command == "sessions":
        return sessions(conn)
    session = args.session or latest_session(conn)
    if session is None:
        raise LookupError("the log holds no session")
    if args.command == "health":
        return query(conn, HEALTH_SQL, (session, args.model, args.model))
    if args.command == "timeline":
        return query(conn, TIMELINE_SQL, (session, args.source, args.source))
    return query(conn, EVENTS_SQL, (session, args.source, args.source, args.limit))


if __name__ == "__main__":
    sys.exit(main())
