"""Golden transcripts: sessions recorded by real runners, replayed offline against today's
machines on every run; the tables' fingerprints and the design document's diagrams checked
against the tables. A table change that breaks old logs fails here; one that does not is
still a visible diff (re-record with `python -m tests.golden.record`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from machines import tables
from machines.events import OUTPUT, RUN_PREFIX, TRANSITION
from machines.run import FINAL
from runner.effects.run import TERMINAL_MESSAGE
from tests import design_claims as claims
from tests.golden import document, record, sessions
from transcripts.replay import replay
from transcripts.transcript import load

RERECORD = "re-record with `python -m tests.golden.record` and review the diff"

# What each story must show, so a re-recording that lost its point fails too.
EXPECTED = {
    "query": ("run:1", ["queued", "executing", "finished"]),
    "batch": ("run:3", ["queued", "failed"]),  # the exec skipped after the failed build
    "input": ("run:1", ["queued", "executing", "waiting_input", "executing", "finished"]),
    "interrupt": ("run:1", ["queued", "executing", "interrupted"]),
    "kernel_restart": ("kernel", ["starting", "ready", "restarting", "ready", "stopping",
                                  "stopped"]),
    "model_flapping": ("model:llm", ["undetermined", "healthy", "unhealthy", "healthy",
                                     "stopped"]),
    "terminal": ("terminal", ["starting", "running", *["backoff", "starting", "running"] * 4,
                              "fatal", "starting", "running", "stopping", "stopped"]),
}


@pytest.mark.parametrize("name", list(sessions.SESSIONS))
def test_a_golden_session_replays_exactly(name: str) -> None:
    path = record.transcript_path(name)
    assert path.is_file(), f"{path} is missing: {RERECORD}"
    _, recorded = load(path)
    report = replay(recorded)
    assert report.ok, f"{name} diverges at {report.divergence}: a table change breaks old logs"
    assert report.moves > 0 and report.timelines["kernel"][-1][1] == "stopped"
    if name in EXPECTED:
        source, states = EXPECTED[name]
        assert [state for _, state in report.timelines[source]] == states


def test_the_crash_loop_session_restarts_the_service_with_back_off() -> None:
    _, recorded = load(record.transcript_path("service_crash_loop"))
    states = [s for _, s in replay(recorded).timelines["service:crashy"]]
    assert states.count(states[0]) >= 3, f"started, then restarted at least twice: {states}"


def test_the_terminal_session_backs_off_doubling_then_gives_up() -> None:
    _, recorded = load(record.transcript_path("terminal"))
    moves = [r.event for r in recorded
             if r.event.source == "terminal" and r.event.kind == TRANSITION]
    assert [e.data["delay"] for e in moves if e.to_state == "backoff"] == [0.25, 0.5, 1.0, 2.0]
    (fatal,) = [e for e in moves if e.to_state == "fatal"]
    assert fatal.data["quick_ends"] == 5


def test_every_machine_table_matches_its_checked_in_fingerprint() -> None:
    committed = json.loads(record.TABLES.read_text())
    assert committed == tables.fingerprints(), f"a machine table changed: {RERECORD}"


def test_the_design_document_shows_each_table_route_and_effect_as_it_is() -> None:
    text = record.DESIGN.read_text()
    assert document.refreshed(text) == text, f"docs/design.md is stale: {RERECORD}"


def test_a_changed_table_changes_its_fingerprint_and_diagram() -> None:
    class Bent(tables.Kernel):
        TRANSITIONS = [*tables.Kernel.TRANSITIONS,  # noqa: RUF012
                       {"trigger": "died", "source": "failed", "dest": "restarting"}]

    assert tables.fingerprint(Bent) != tables.fingerprint(tables.Kernel)
    assert "failed --> restarting: died" in tables.mermaid(Bent)
    assert "failed --> restarting" not in tables.mermaid(tables.Kernel)


def test_golden_files_are_only_the_recorded_sessions() -> None:
    on_disk = {p.stem for p in Path(record.GOLDEN).glob("*.jsonl")}
    assert on_disk == set(sessions.SESSIONS), f"stale or missing transcripts: {RERECORD}"


def test_every_module_of_the_four_layers_says_what_lives_there() -> None:
    missing = [name for name, doc in document.module_docstrings().items() if not doc]
    assert not missing, f"modules without a docstring: {missing}"


@pytest.mark.parametrize("name", list(sessions.SESSIONS))
def test_each_run_got_one_terminal_message_with_its_machines_exit_code(name: str) -> None:
    _, recorded = load(record.transcript_path(name))
    terminal: dict[str, list[int]] = {}
    final: dict[str, int] = {}
    for rec in recorded:
        e = rec.event
        if not e.source.startswith(RUN_PREFIX):
            continue
        if e.kind == OUTPUT and e.name in TERMINAL_MESSAGE.values():
            terminal.setdefault(e.source, []).append(json.loads(e.data)["exitCode"])
        elif e.kind == TRANSITION and e.to_state in FINAL:
            final[e.source] = e.data["exit_code"]
    assert {source: [code] for source, code in final.items()} == terminal


# --- what docs/design.md says about the layers, checked (tests/design_claims.py) --------------

# the modules of transcripts/ the design document names as reading clocks
CLOCK_READERS = {"transcripts.events", "transcripts.store", "transcripts.recovery",
                 "transcripts.retention"}


def test_no_machine_reads_a_clock_does_io_or_uses_asyncio() -> None:
    found = {name: bad for name, source in claims.modules("machines")
             if (bad := claims.impure_uses(source))}
    assert found == {}, f"machines/ must stay pure (docs/design.md, Layers): {found}"


def test_in_transcripts_only_the_stamp_the_writer_and_retention_read_clocks() -> None:
    readers = {name for name, source in claims.modules("transcripts")
               if claims.clock_reads(source)}
    assert readers <= CLOCK_READERS, \
        f"{sorted(readers - CLOCK_READERS)} read clocks: docs/design.md (Layers) must say so"


def test_the_lower_layers_docstrings_say_what_their_module_must_not_do() -> None:
    silent = [name for package in ("machines", "transcripts")
              for name, source in claims.modules(package)
              if not claims.says_what_it_must_not_do(source)]
    assert silent == [], f"docstrings that do not say what the module must not do: {silent}"


def test_only_the_machines_fire_triggers() -> None:
    found = {name: bad for package in ("transcripts", "runner", "tools")
             for name, source in claims.modules(package) if (bad := claims.fires(source))}
    assert found == {}, f"moves must come from events (docs/design.md, Effects): {found}"


def test_each_check_finds_a_made_up_offender() -> None:
    offender = ('"""A machine that reads the time."""\nimport time\nfrom datetime import '
                'datetime\n\ndef now():\n    open("f")\n    machine.fire("go")\n'
                '    return time.monotonic(), datetime.now()\n')
    assert len(claims.clock_reads(offender)) == 2
    assert len(claims.impure_uses(offender)) == 5  # time, datetime, open(), and the two reads
    assert len(claims.fires(offender)) == 1
    assert not claims.says_what_it_must_not_do(offender)
    assert claims.says_what_it_must_not_do('"""It must never read a clock."""\n')
