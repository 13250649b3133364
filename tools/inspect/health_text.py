"""The health summary as text that fits a terminal, and as JSON with ISO 8601 times."""

from __future__ import annotations

import math
from typing import Any

from tools.inspect import render


def duration(seconds: float | None) -> str:
    """3.2 s, 4m05s, 2h03m, 3d04h."""
    if seconds is None:
        return "-"
    if not math.isfinite(seconds) or abs(seconds) > 1e10:  # a forged log's: shown, not raised
        return f"{seconds:.3g} s (not a duration)"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def as_json(s: dict[str, Any], utc: bool) -> dict[str, Any]:
    out = render.with_times(s, utc)
    for key in ("transitions", "last_probes", "failures_by_class"):
        out[key] = [render.with_times(r, utc) for r in s[key]]
    return out


def as_text(s: dict[str, Any], utc: bool, width: int) -> str:
    t = lambda ts: render.iso(ts, utc) or "-"  # noqa: E731
    lat = s["probe_latency_ms"]
    pct = "-" if s["uptime_pct"] is None else f"{s['uptime_pct']:.2f} %"
    lines = [
        f"model {s['model']}   session {s['session'][:8]}   log {s['log']}",
        f"  observed     {t(s['first_verdict'])} .. {t(s['until'])}",
        f"  uptime       {pct}   flaps {s['flaps']}   recoveries {s['recoveries']}",
        f"  to recover   mean {duration(s['mttr_s'])}   "
        f"longest unhealthy {duration(s['longest_unhealthy_s'])}",
        "  time in      " + " · ".join(f"{state} {duration(sec)}"
                                       for state, sec in s["time_in_state_s"].items()),
        f"  probes       {s['probes']['count']} ({s['probes']['failed']} failed)   "
        f"latency p50 {_ms(lat['p50'])}   p99 {_ms(lat['p99'])}",
        "  failures     " + (" · ".join(f"{f['class']} ×{f['count']}"
                                        for f in s["failures_by_class"]) or "none"),
        "", _moves_title(s),
    ]
    moves = [{"time": t(m["wall"]), "from": m["from_state"], "to": m["to_state"],
              "trigger": m["trigger"], "held": duration(m["held_s"]), "reason": m["reason"]}
             for m in s["transitions"]]
    lines += _indent(render.table(moves, width - 4) or "(none)")
    lines += ["", f"  last {len(s['last_probes'])} probes"]
    probes = [{"time": t(p["wall"]), "result": p["result"], "status": p["status"],
               "latency_ms": p["latency_ms"], "reason": p["reason"]} for p in s["last_probes"]]
    lines += _indent(render.table(probes, width - 4) or "(none)")
    return "\n".join(lines)


def _moves_title(s: dict[str, Any]) -> str:
    shown, total = len(s["transitions"]), s.get("transitions_total", len(s["transitions"]))
    if shown == total:
        return f"  transitions ({total})"
    return f"  last {shown} of {total} transitions (--transitions all: every one)"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _indent(text: str) -> list[str]:
    return ["    " + line for line in text.splitlines()]
