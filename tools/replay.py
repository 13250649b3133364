"""`python -m tools.replay offline|live`: replay a recorded session.

offline  every machine is rebuilt from the recorded inputs and observations and checked
         against the recorded transitions; nothing is executed. The report names the first
         divergence and shows each state timeline.
live     the recorded inbound frames are sent to a fresh runner (same language, paced as the
         agent paced them) and its answers are compared with the recorded ones, source by
         source, volatile values masked. Runs code: point --work-dir at a copy of the user's
         folder when the session needs its files.

Exit codes: 0 the replay matches, 1 it diverges, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.live import replay_live
from transcripts.location import resolve_log_path
from transcripts.reader import Recorded, events, latest_session, open_readonly, session_header
from transcripts.replay import FED, MOVES, replay_rows, replay_session
from transcripts.transcript import TranscriptReader, load


def _offline(args: argparse.Namespace) -> dict[str, Any]:
    if args.transcript:  # streamed, each line checked before it is replayed
        reader = TranscriptReader(Path(args.transcript))
        report = replay_rows(reader.rows(FED + MOVES, data_of=FED))
        report.events = reader.events
        return report.as_dict()
    conn = open_readonly(resolve_log_path(args.log))
    return replay_session(conn, _session(conn, args.session)).as_dict()


def _live(args: argparse.Namespace) -> dict[str, Any]:
    header, recorded = _recorded(args)
    lang = args.lang or header.get("language") or "python"
    work_dir = Path(args.work_dir) if args.work_dir else None
    return replay_live(recorded, lang, work_dir=work_dir, timeout=args.timeout).as_dict()


def _recorded(args: argparse.Namespace) -> tuple[dict[str, Any], list[Recorded]]:
    if args.transcript:
        header, recorded = load(Path(args.transcript))
        return header["session"], recorded
    conn = open_readonly(resolve_log_path(args.log))
    session = _session(conn, args.session)
    return session_header(conn, session), list(events(conn, session))


def _session(conn: sqlite3.Connection, chosen: str | None) -> str:
    session = chosen or latest_session(conn)
    if session is None:
        raise LookupError("the log holds no session")
    return session


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="replay", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("offline", "live"))
    p.add_argument("--log", default=None, help="event log (default: as the runner's)")
    p.add_argument("--session", default=None, help="session id (default: the latest)")
    p.add_argument("--transcript", default=None, help="a transcript file instead of a log")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--lang", default=None, help="live: runtime type (default: the session's)")
    p.add_argument("--work-dir", default=None, help="live: the new runner's work folder")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="live: seconds to wait for each expected answer")
    args = p.parse_args(argv)
    try:
        report = _offline(args) if args.mode == "offline" else _live(args)
    except (OSError, LookupError, ValueError, RuntimeError, sqlite3.Error) as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(report, indent=2, default=str))
    elif args.mode == "offline":
        _print_offline(report)
    else:
        _print_live(report)
    return 0 if report["ok"] else 1


def _counts(report: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in report.items()
                     if isinstance(v, int) and not isinstance(v, bool))


def _print_offline(report: dict[str, Any]) -> None:
    print(f"replay {'matches' if report['ok'] else 'DIVERGES'}: {_counts(report)}")
    if report.get("divergence"):
        print(f"first divergence: {json.dumps(report['divergence'], default=str)}")
    for source, moves in (report.get("timelines") or {}).items():
        print(f"  {source}: " + " -> ".join(str(state) for _, state in moves))


def _print_live(report: dict[str, Any]) -> None:
    print(f"live replay {'matches' if report['ok'] else 'DIFFERS'}: {_counts(report)}")
    if report["redacted_inputs"]:
        print("  (passwords were not recorded: their inputs were replayed as '<redacted>')")
    for seq in report["stalls"]:
        print(f"  the new runner never gave the answers the agent had before event {seq}")
    for line in report["differences"]:
        print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
