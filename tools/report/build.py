"""A report from start to end: the session read once into pages, the timeline and the health
picture drawn, the whole written as one HTML file. Reads the log it is given, writes only
the report (see `page`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.inspect import health, picture
from tools.inspect.drawing import svg
from tools.logs import SessionRef
from tools.progress import progress
from tools.report import timeline
from tools.report.collect import collect
from tools.report.page import PageFile
from tools.report.source import Origin
from transcripts.reader import count, session_key


def write_report(ref: SessionRef, origin: Origin, out: Path, *, utc: bool = False,
                 quiet: bool = False) -> dict[str, Any]:
    """Write the report of one session to `out`; what it holds, in figures."""
    conn = ref.log.conn
    key = session_key(conn, ref.id)
    pruned = conn.execute("SELECT before_wall, events FROM pruned WHERE session = ?",
                          (key,)).fetchall()
    events = count(conn, ref.id)
    title = f"krunner session {ref.id[:8]}"
    with PageFile(out, title) as page:
        with progress("writing the report", events, quiet=quiet) as tick:
            c = collect(ref, origin, page.page, tick)
        drawings: dict[str, str] = {}
        drawn = timeline.draw(c, pruned, utc)
        if drawn is not None:
            drawings["timeline"] = svg(drawn)
        found = health.summaries([ref], None, 20, 20)
        if found:
            drawings["health"] = svg(picture.draw(found, [ref], utc))
        groups = sorted({g for index in c.pages.values() if "counts" in index
                         for counts in index["counts"] for g in counts if g})
        meta = {"session": ref.row, "origin": _origin(origin), "kinds": dict(c.kinds),
                "pages": c.pages, "groups": groups, "runs": c.runs}
        page.finish(meta, drawings)
    return {"events": events, "runs": len(c.runs), "models": len(found),
            "bytes": out.stat().st_size}


def _origin(o: Origin) -> dict[str, Any]:
    return {"kind": o.kind, "path": o.path, "verification": o.verification,
            "fingerprint": o.fingerprint, "partial": o.partial}
