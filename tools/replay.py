"""`python -m tools.replay offline|live`: replay a recorded session.

offline  every machine is rebuilt from the recorded inputs and observations and checked
         against the recorded transitions; nothing is executed. The report names the first
         divergence and shows each state timeline.
live     the recorded inbound frames are sent to a fresh runner (same language, paced as the
         agent paced them) and its answers are compared with the recorded ones, source by
         source, volatile values masked. Runs code: point --work-dir at a copy of the user's
         folder when the session needs its files.

Exit codes: 0 the replay matches, 1 it diverges, 2 bad usage or unreadable input, 3 it
matches what was read, but that is not the whole session: it never ended (its runner was
still running or was killed), its writer recorded gaps, or retention pruned some of it (the
report says which; a divergence of a partial session says so too, as a likely cause).
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from tools import logs as logset
from tools.inspect.render import quiet_pipe, visible
from tools.live import replay_live
from tools.progress import lines_in, progress
from transcripts.completeness import partial_reasons
from transcripts.reader import Recorded, count, events
from transcripts.replay import replay_session, replay_transcript
from transcripts.transcript import TranscriptReader

PARTIAL = 3  # exit code: it matches, but what was read is not the whole session


def _offline(args: argparse.Namespace) -> dict[str, Any]:
    if args.transcript:  # streamed, each line checked before it is replayed
        path = Path(args.transcript)
        with progress("replaying", lines_in(path), quiet=args.quiet) as tick:
            reader = TranscriptReader(path, tick)
            report = replay_transcript(reader)
        report.partial = reader.partial_reasons()
        return report.as_dict()
    ref = _session(args)
    with progress("replaying", count(ref.log.conn, ref.id), quiet=args.quiet) as tick:
        return replay_session(ref.log.conn, ref.id, tick).as_dict()


def _live(args: argparse.Namespace) -> dict[str, Any]:
    header, recorded, partial = _recorded(args)
    lang = args.lang or header.get("language") or "python"
    work_dir = Path(args.work_dir).resolve() if args.work_dir else None
    if work_dir is not None and not work_dir.is_dir():
        raise FileNotFoundError(f"no folder {args.work_dir} to copy for the replay")
    for mask in args.mask:
        re.compile(mask)  # a bad pattern is bad input, said before anything runs
    report = replay_live(recorded, lang, work_dir=work_dir, timeout=args.timeout,
                         masks=args.mask).as_dict()
    return report | {"partial": partial}


def _recorded(args: argparse.Namespace) -> tuple[dict[str, Any], list[Recorded], list[str]]:
    """The session's row, its events, and why they are not the whole session."""
    if args.transcript:
        reader = TranscriptReader(Path(args.transcript))
        recorded = list(reader.recorded())
        return reader.header["session"], recorded, reader.partial_reasons()
    ref = _session(args)
    return (ref.row, list(events(ref.log.conn, ref.id)),
            partial_reasons(ref.log.conn, ref.id))


def _session(args: argparse.Namespace) -> logset.SessionRef:
    """The session named (id or unique prefix; default the latest) in the logs given."""
    return logset.find_session(logset.open_all(args.log), args.session)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="replay", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("offline", "live"))
    p.add_argument("--log", action="append", default=None,
                   help="event log or glob, repeatable (default: the runner's)")
    p.add_argument("--session", default=None, help="session id (default: the latest)")
    p.add_argument("--transcript", default=None, help="a transcript file instead of a log")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="offline: no progress on the terminal (none in a pipe either)")
    p.add_argument("--lang", default=None, help="live: runtime type (default: the session's)")
    p.add_argument("--work-dir", default=None,
                   help="live: a folder to copy as the new runner's work folder (the folder "
                        "itself is never changed)")
    p.add_argument("--mask", action="append", default=[], metavar="REGEX",
                   help="live: also mask what matches REGEX in both sides' answers (repeat)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="live: seconds to wait for each expected answer")
    args = p.parse_args(argv)
    try:
        report = _offline(args) if args.mode == "offline" else _live(args)
    except (OSError, LookupError, ValueError, RuntimeError, sqlite3.Error, re.error) as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    with quiet_pipe():
        if args.format == "json":  # orjson: a big report without copies of it
            sys.stdout.buffer.write(orjson.dumps(report, default=str,
                                                 option=orjson.OPT_INDENT_2) + b"\n")
        elif args.mode == "offline":
            _print_offline(report)
        else:
            _print_live(report)
        if args.format == "table":
            _print_partial(report)
    if not report["ok"]:
        return 1
    return PARTIAL if report.get("partial") else 0


def _print_partial(report: dict[str, Any]) -> None:
    reasons = report.get("partial")
    if not reasons:
        return
    verdict = ("so it matches only what was recorded" if report["ok"] else
               "which may explain the divergence: the replay lacks what the log does not hold")
    print(visible(f"PARTIAL: the session is not whole ({'; '.join(reasons)}), {verdict}"))


def _counts(report: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in report.items()
                     if isinstance(v, int) and not isinstance(v, bool))


def _print_offline(report: dict[str, Any]) -> None:
    print(f"replay {'matches' if report['ok'] else 'DIVERGES'}: {_counts(report)}")
    if report.get("divergence"):
        print(f"first divergence: {json.dumps(report['divergence'], default=str)}")
    for source, moves in (report.get("timelines") or {}).items():
        print(visible(f"  {source}: " + " -> ".join(str(state) for _, state in moves)))


def _print_live(report: dict[str, Any]) -> None:
    print(f"live replay {'matches' if report['ok'] else 'DIFFERS'}: {_counts(report)}")
    if report["redacted_inputs"]:
        print("  (passwords were not recorded: their inputs were replayed as '<redacted>')")
    for line in [*report["unreproduced"], *report["differences"]]:
        print(visible(f"  {line}"))  # recorded names and output: shown, never run


if __name__ == "__main__":
    sys.exit(main())
