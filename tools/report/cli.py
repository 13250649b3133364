"""`krunner-transcript report`: its arguments, and the command (the rest of
`krunner-transcript` is in `tools/transcript.py`). Data to the file named, the path and
figures to stderr; progress on a terminal only."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tools.report import source
from tools.report.build import write_report


def add_parser(sub: Any) -> None:
    r = sub.add_parser("report", help="one session as a self-contained HTML file to open in a "
                                      "browser")
    r.add_argument("file", nargs="?", default=None,
                   help="a transcript (else --log, or the runner's log)")
    r.add_argument("--log", action="append", default=None,
                   help="an event log or glob instead of a transcript (repeat)")
    r.add_argument("--session", default=None, help="with --log: id or unique prefix "
                                                   "(default: the latest)")
    r.add_argument("-o", "--out", required=True, help="the HTML file to write")
    r.add_argument("--utc", action="store_true", help="drawings in UTC (default: local time)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress on the terminal")


def run(args: argparse.Namespace) -> int:
    if args.file and (args.log or args.session):
        raise ValueError("give a transcript, or --log (and --session), not both")
    out = Path(args.out)
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a folder: name the HTML file to write")
    with ExitStack() as stack:
        if args.file:
            ref, origin = stack.enter_context(source.from_transcript(Path(args.file),
                                                                     args.quiet))
        else:
            ref, origin = source.from_log(args.log, args.session)
        figures = write_report(ref, origin, out, utc=args.utc, quiet=args.quiet)
    print(f"report of session {origin.session} ({figures['events']} events, "
          f"{figures['runs']} runs, {figures['models']} model services, "
          f"{figures['bytes'] / 2**20:.1f} MB) written to {out}", file=sys.stderr)
    for reason in origin.partial:
        print(f"note: not the whole session: {reason}", file=sys.stderr)
    return 0
