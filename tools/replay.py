"""`python -m tools.replay offline`: replay a recorded session without executing anything.

Every machine is rebuilt from the recorded inputs and observations and checked against the
recorded transitions; the report names the first divergence and shows each state timeline.

Exit codes: 0 the replay matches, 1 it diverges, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from transcripts.location import resolve_log_path
from transcripts.reader import latest_session, open_readonly
from transcripts.replay import ReplayReport, replay, replay_session
from transcripts.transcript import load


def _report(args: argparse.Namespace) -> ReplayReport:
    if args.transcript:
        return replay(load(Path(args.transcript))[1])
    conn = open_readonly(resolve_log_path(args.log))
    session = args.session or latest_session(conn)
    if session is None:
        raise LookupError("the log holds no session")
    return replay_session(conn, session)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="replay", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("offline",))
    p.add_argument("--log", default=None, help="event log (default: as the runner's)")
    p.add_argument("--session", default=None, help="session id (default: the latest)")
    p.add_argument("--transcript", default=None, help="a transcript file instead of a log")
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    try:
        report = _report(args).as_dict()
    except (OSError, LookupError, ValueError, sqlite3.Error) as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_table(report)
    return 0 if report["ok"] else 1


def _print_table(report: dict) -> None:
    verdict = "matches" if report["ok"] else "DIVERGES"
    print(f"replay {verdict}: " + ", ".join(f"{k} {report[k]}" for k in report
                                              if isinstance(report[k], int)
                                              and not isinstance(report[k], bool)))
    if report.get("divergence"):
        print(f"first divergence: {json.dumps(report['divergence'], default=str)}")
    for source, moves in (report.get("timelines") or {}).items():
        print(f"  {source}: " + " -> ".join(str(state) for _, state in moves))


if __name__ == "__main__":
    sys.exit(main())
