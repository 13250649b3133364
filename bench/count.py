"""`python -m bench.count LOG`: the cheapest question one can ask of a log, `count(*)` of its
events, as the baseline `bench.inspect` measures the tools beside. Read-only."""

from __future__ import annotations

import sys

from transcripts.reader import open_readonly


def main(argv: list[str]) -> int:
    conn = open_readonly(argv[0])
    print(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
