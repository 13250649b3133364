"""`inspect health`: figures checked against a timeline the test controls; the picture."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

from tests.stories import flapping_model, probe, write_log
from tests.tooling import tool
from tools.inspect.picture import COLOURS
from transcripts.events import OBSERVATION, TRANSITION, Event
from transcripts.store import EventLog

T0 = 1_700_000_000.0


def test_health_sums_up_uptime_flaps_recovery_and_probes(tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite3"
    write_log(log, flapping_model(T0))
    out = tool("tools.inspect", "health", "--log", str(log), "--format", "json", "--utc")
    assert out.returncode == 0, out.stderr
    [s] = json.loads(out.stdout)
    assert s["model"] == "llm" and len(s["session"]) == 32 and s["log"] == str(log)
    # healthy 1..12, 20..31, 35..40 = 27 s; unhealthy 12..20, 31..35 = 12 s
    assert s["uptime_pct"] == round(100 * 27 / 39, 3)
    assert s["flaps"] == 2 and s["recoveries"] == 2
    assert s["mttr_s"] == 6.0 and s["longest_unhealthy_s"] == 8.0
    assert s["time_in_state_s"]["healthy"] == 27.0
    assert s["time_in_state_s"]["unhealthy"] == 12.0
    assert s["first_verdict"] == "2023-11-14T22:13:21.000+00:00"
    assert s["until"] == "2023-11-14T22:14:00.000+00:00"
    # 25 passes of 1..25 ms, five failures of 900 ms, one of 1000 ms: nearest rank
    assert s["probes"] == {"count": 31, "failed": 6}
    assert s["probe_latency_ms"] == {"p50": 16.0, "p99": 1000.0}
    assert [(f["class"], f["count"]) for f in s["failures_by_class"]] == [
        ("connection refused", 3), ("status 500", 2), ("timeout", 1)]
    moves = [(m["to_state"], m["reason"]) for m in s["transitions"]]
    assert moves == [("undetermined", None), ("healthy", None),
                     ("unhealthy", "connection refused"), ("healthy", None),
                     ("unhealthy", "status 500, expected 200"), ("healthy", None),
                     ("stopped", None)]
    assert s["transitions"][2]["wall"] == "2023-11-14T22:13:32.000+00:00"
    assert len(s["last_probes"]) == 20
    assert s["last_probes"][-1]["latency_ms"] == 25.0
    every = json.loads(tool("tools.inspect", "health", "--log", str(log), "--format", "json",
                            "--probes", "all").stdout)
    assert len(every[0]["last_probes"]) == 31


def test_health_as_a_table_with_dated_zoned_times(tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite3"
    write_log(log, flapping_model(T0))
    out = tool("tools.inspect", "--log", str(log), "health", "--utc",
               env={"COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "uptime       69.23 %   flaps 2   recoveries 2\n" in text
    assert "to recover   mean 6.0 s   longest unhealthy 8.0 s" in text
    assert "2023-11-14T22:13:32.000+00:00  healthy       unhealthy" in text
    assert "connection refused ×3 · status 500 ×2 · timeout ×1" in text
    assert "last 20 probes" in text
    assert max(len(line) for line in text.splitlines() if "log " not in line) <= 100
    local = tool("tools.inspect", "--log", str(log), "health", env={"TZ": "Asia/Tokyo"})
    assert "2023-11-15T07:13:32.000+09:00" in local.stdout


def test_the_picture_has_a_band_per_model_coloured_by_state(tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite3"
    write_log(log, [*flapping_model(T0), *flapping_model(T0, "model:embedder")])
    svg, png = tmp_path / "h.svg", tmp_path / "h.png"
    assert tool("tools.inspect", "--log", str(log), "health", "--utc", "--picture",
                str(svg)).returncode == 0
    root = ET.parse(svg).getroot()  # a valid SVG document
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "llm" in texts and "embedder" in texts
    assert any(t and t.startswith("unhealthy: connection refused") for t in texts)
    assert any(t and "2023-11-14" in t for t in texts)  # the axis has dates
    fills = [r.get("fill") for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert fills.count(COLOURS["unhealthy"]) >= 4  # two stretches per model (and legend)
    assert tool("tools.inspect", "--log", str(log), "health", "--picture", str(png)
                ).returncode == 0
    image = Image.open(png)
    assert image.format == "PNG" and image.width == 1100
    colours = {c for _, c in image.convert("RGB").getcolors(1 << 20)}
    for state in ("healthy", "unhealthy", "undetermined"):
        assert _rgb(COLOURS[state]) in colours
    bad = tool("tools.inspect", "--log", str(log), "health", "--picture", str(tmp_path / "x.gif"))
    assert bad.returncode == 2 and ".svg or .png" in bad.stderr


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def test_an_unknown_model_names_the_models_there_are(tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite3"
    write_log(log, flapping_model(T0))
    out = tool("tools.inspect", "--log", str(log), "health", "--model", "gpt")
    assert out.returncode == 2
    assert "no model service 'gpt' recorded; models recorded: llm" in out.stderr


def test_states_are_read_from_the_log_not_assumed(tmp_path: Path) -> None:
    """A state the health machine may grow (`fatal`) counts as down, as it was recorded."""
    log = EventLog(tmp_path / "events.sqlite3")
    log.open_session()
    for t, frm, to, reason in [(0, "new", "undetermined", None),
                               (10, "undetermined", "healthy", None),
                               (40, "healthy", "fatal", "gave up after 5 restarts")]:
        log.append(Event("model:m", TRANSITION, "x", {"reason": reason}, frm, to,
                         T0 + t, T0 + t))
    log.append(Event("kernel", OBSERVATION, "RunnerStopped", wall=T0 + 100, mono=T0 + 100))
    log.flush()
    out = tool("tools.inspect", "--log", str(log.path), "health", "--format", "json")
    log.close()
    [s] = json.loads(out.stdout)
    assert s["flaps"] == 1 and s["recoveries"] == 0 and s["mttr_s"] is None
    assert s["time_in_state_s"]["fatal"] == 60.0 and s["longest_unhealthy_s"] == 60.0
    assert s["uptime_pct"] == 33.333
    assert s["transitions"][-1]["reason"] == "gave up after 5 restarts"


def flaps(count: int, t0: float = T0, source: str = "model:llm") -> list[Event]:
    """A model that goes down `count` times (two passes, then two failures: threshold 2),
    then is stopped."""
    story = [Event(source, OBSERVATION, "ModelConfigured", {"failure_threshold": 2},
                   wall=t0, mono=t0)]
    t = t0
    for _ in range(count):
        for ok in (True, True, False, False):
            t += 1.0
            story.append(probe(t, ok, 5.0 if ok else 900.0, source=source))
    story.append(Event(source, OBSERVATION, "ModelStopped", {}, wall=t + 1, mono=t + 1))
    return story


def test_health_lists_the_last_20_transitions_unless_told_all(tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite3"
    write_log(log, flaps(30))  # configured, 30 x (healthy, unhealthy), stopped: 62
    [s] = json.loads(tool("tools.inspect", "--log", str(log), "health", "--format",
                          "json").stdout)
    assert s["transitions_total"] == 62 and len(s["transitions"]) == 20
    assert s["transitions"][-1]["seq"] == max(m["seq"] for m in s["transitions"])
    assert s["flaps"] == 30 and s["recoveries"] == 29  # the figures count every move
    [every] = json.loads(tool("tools.inspect", "--log", str(log), "health", "--format", "json",
                              "--transitions", "all").stdout)
    assert len(every["transitions"]) == 62
    assert every["transitions"][-20:] == s["transitions"]
    text = tool("tools.inspect", "--log", str(log), "health").stdout
    assert "last 20 of 62 transitions (--transitions all: every one)" in text
    bad = tool("tools.inspect", "--log", str(log), "health", "--transitions", "some")
    assert bad.returncode == 2 and "--transitions takes a number or 'all'" in bad.stderr


def _sqlite_steps(log: Path) -> int:
    """SQLite's virtual-machine steps (in thousands) for the whole `health` summary: a
    measure of work that does not depend on how busy the machine is."""
    from tools import logs as logset
    from tools.inspect import health

    [ref] = logset.all_sessions(logset.open_all([str(log)]))
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    ref.log.conn.set_progress_handler(tick, 1000)
    health.summaries([ref], None, 20, 20)
    return steps[0]


def test_health_work_grows_linearly_with_the_flaps(tmp_path: Path) -> None:
    """Four times the flaps, about four times the work (it was sixteen: each stretch searched
    every move for its end, each process exit every move before it)."""
    small, big = tmp_path / "small.sqlite3", tmp_path / "big.sqlite3"
    write_log(small, flaps(300))
    write_log(big, flaps(1200))
    ratio = _sqlite_steps(big) / _sqlite_steps(small)
    assert 3.0 < ratio < 5.0, ratio


def test_the_picture_of_many_flaps_has_a_rectangle_per_pixel_at_most(tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite3"
    write_log(log, flaps(3000))
    svg = tmp_path / "h.svg"
    assert tool("tools.inspect", "--log", str(log), "health", "--picture", str(svg)
                ).returncode == 0
    root = ET.parse(svg).getroot()
    fills = [r.get("fill") for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert len(fills) < 1200  # 6,002 moves on a band 900 pixels wide
    assert fills.count(COLOURS["unhealthy"]) > 100  # the outages stay visible
