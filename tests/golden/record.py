"""`python -m tests.golden.record`: re-record the golden transcripts, fingerprints, diagrams.

Each session below is played by the agent's client against a real runner (real kernel,
processes, HTTP server); its log is exported with the project's transcript export into
`tests/golden/<session>.jsonl`. The machine tables' fingerprints go to `tables.json`, and
their Mermaid diagrams, the event routes and the effect tables into `docs/design.md`.
`tests/test_golden.py` replays every transcript offline on each test run and checks the
fingerprints and the generated parts of the document.

    python -m tests.golden.record                 # everything (a few seconds)
    python -m tests.golden.record query batch     # some sessions (and tables, diagrams)
    python -m tests.golden.record --tables-only   # fingerprints and diagrams only

Exit codes: 0 recorded, 1 a session did not go as scripted (nothing of it is written).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from machines import tables
from tests.golden import document, sessions
from tools.launch import ROOT, RunnerProcess
from transcripts.reader import latest_session, open_readonly
from transcripts.transcript import export

GOLDEN = Path(__file__).resolve().parent
TABLES = GOLDEN / "tables.json"
DESIGN = ROOT / "docs" / "design.md"


def transcript_path(name: str) -> Path:
    return GOLDEN / f"{name}.jsonl"


def record(name: str, play: Callable[[Path], RunnerProcess], folder: Path) -> int:
    """Play one session against a fresh runner, export its log; the number of events."""
    runner = play(folder / name)
    code = runner.stop()
    if code != 0:
        raise RuntimeError(f"{name}: the runner exited with {code}: {runner.stderr_text()}")
    conn = open_readonly(runner.log_path)
    try:
        session = latest_session(conn)
        if session is None:
            raise RuntimeError(f"{name}: the log holds no session")
        partial = transcript_path(name).with_suffix(".partial")
        count = export(conn, session, partial).events
        partial.replace(transcript_path(name))
        return count
    finally:
        conn.close()


def write_tables() -> None:
    TABLES.write_text(json.dumps(tables.fingerprints(), indent=2, sort_keys=True) + "\n")
    DESIGN.write_text(document.refreshed(DESIGN.read_text()))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tests.golden.record", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sessions", nargs="*", help=f"default: all of {', '.join(sessions.SESSIONS)}")
    p.add_argument("--tables-only", action="store_true")
    args = p.parse_args(argv)
    unknown = set(args.sessions) - set(sessions.SESSIONS)
    if unknown:
        p.error(f"no such session: {', '.join(sorted(unknown))}")
    write_tables()
    if args.tables_only:
        return 0
    chosen = args.sessions or list(sessions.SESSIONS)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp, ThreadPoolExecutor(4) as pool:
        for sub in chosen:
            (Path(tmp) / sub).mkdir()
        jobs = {name: pool.submit(record, name, sessions.SESSIONS[name], Path(tmp))
                for name in chosen}
        failed = 0
        for name, job in jobs.items():
            try:
                print(f"{name}: {job.result()} events", file=sys.stderr)
            except (RuntimeError, AssertionError, TimeoutError, OSError, sqlite3.Error) as e:
                failed += 1
                print(f"{name}: NOT RECORDED: {type(e).__name__}: {e}", file=sys.stderr)
    print(f"recorded {len(chosen) - failed} of {len(chosen)} sessions in "
          f"{time.monotonic() - began:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
