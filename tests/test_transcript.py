"""Transcripts that cannot be altered unseen: every kind of tampering is refused by
`verify` (naming the first bad line), by `import` and by `replay offline --transcript`."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.stories import flapping_model, write_log
from tests.tooling import tool


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    log = tmp_path / "events.sqlite3"
    write_log(log, flapping_model())
    out = tmp_path / "session.jsonl"
    done = tool("tools.transcript", "export", "--log", str(log), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "fingerprint" in done.stderr
    return out


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _edit_field(line: str, key: str, value: object) -> str:
    """Change one field of a line, keeping its hash as it was (as an editor would)."""
    obj = json.loads(line)
    obj[key] = value
    return json.dumps(obj, ensure_ascii=False) + "\n"


def _changed_data(lines: list[str]) -> list[str]:
    i = next(i for i, s in enumerate(lines) if '"ProbeFailed"' in s)
    lines[i] = lines[i].replace("connection refused", "connection reset")
    return lines


def _changed_code(lines: list[str]) -> list[str]:
    lines[3] = _edit_field(lines[3], "name", "ProbeSucceeded")
    return lines


def _changed_output(lines: list[str]) -> list[str]:
    i = next(i for i, s in enumerate(lines) if '"to":"unhealthy"' in s)
    lines[i] = lines[i].replace('"to":"unhealthy"', '"to":"healthy"')
    return lines


def _reordered(lines: list[str]) -> list[str]:
    lines[4], lines[5] = lines[5], lines[4]
    return lines


def _renumbered(lines: list[str]) -> list[str]:
    for i in range(3, len(lines) - 1):
        obj = json.loads(lines[i])
        lines[i] = lines[i].replace(f'"seq":{obj["seq"]},', f'"seq":{obj["seq"] + 1},', 1)
    return lines


def _made_up_version(lines: list[str]) -> list[str]:
    lines[0] = lines[0].replace('"version":2', '"version":3')
    return lines


def _cut(lines: list[str]) -> list[str]:
    return lines[:20]


def _dropped_line(lines: list[str]) -> list[str]:
    return lines[:7] + lines[8:]


TAMPERING: dict[str, tuple[Callable[[list[str]], list[str]], int]] = {
    # kind: (the edit, the first line that must be named)
    "changed data": (_changed_data, 0),
    "changed name": (_changed_code, 4),
    "changed transition": (_changed_output, 0),
    "reordered lines": (_reordered, 5),
    "renumbered lines": (_renumbered, 4),
    "made-up format version": (_made_up_version, 1),
    "cut at a line boundary": (_cut, 21),
    "a line removed": (_dropped_line, 8),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_each_kind_of_tampering_is_refused(exported: Path, tmp_path: Path, kind: str) -> None:
    edit, first_bad = TAMPERING[kind]
    lines = _lines(exported)
    altered = edit(list(lines))
    assert altered != lines
    bad_line = first_bad or next(i for i, (a, b) in enumerate(zip(altered, lines, strict=False),
                                                               1) if a != b)
    exported.write_text("".join(altered), encoding="utf-8")
    verify = tool("tools.transcript", "verify", str(exported))
    assert verify.returncode == 1, verify.stdout
    assert f"line {bad_line} " in verify.stderr and "ALTERED" in verify.stderr
    log = tmp_path / "imported.sqlite3"
    imported = tool("tools.transcript", "import", str(exported), "--log", str(log))
    assert imported.returncode == 2 and f"line {bad_line} " in imported.stderr
    if log.exists():  # nothing of it was kept
        assert sqlite3.connect(log).execute("SELECT count(*) FROM events").fetchone()[0] == 0
    replayed = tool("tools.replay", "offline", "--transcript", str(exported))
    assert replayed.returncode == 2 and f"line {bad_line} " in replayed.stderr


def test_an_intact_transcript_verifies_imports_and_replays(exported: Path,
                                                          tmp_path: Path) -> None:
    verify = tool("tools.transcript", "verify", str(exported))
    assert verify.returncode == 0, verify.stderr
    recorded = sqlite3.connect(exported.with_name("events.sqlite3")).execute(
        "SELECT count(*) FROM events").fetchone()[0]
    assert f"intact, {recorded} events" in verify.stdout
    print_ = verify.stdout.split("fingerprint ")[1].strip()
    assert tool("tools.transcript", "verify", str(exported), "--fingerprint", print_
                ).returncode == 0
    other = tool("tools.transcript", "verify", str(exported), "--fingerprint", "0" * 32)
    assert other.returncode == 1 and "not the file exported" in other.stderr
    log = tmp_path / "imported.sqlite3"
    assert tool("tools.transcript", "import", str(exported), "--log", str(log)).returncode == 0
    assert tool("tools.replay", "offline", "--log", str(log)).returncode == 0
    assert tool("tools.replay", "offline", "--transcript", str(exported)).returncode == 0


def test_transcripts_are_private_and_can_go_to_stdout(exported: Path, tmp_path: Path) -> None:
    assert stat.S_IMODE(os.stat(exported).st_mode) == 0o600
    wide = tmp_path / "wide.jsonl"
    wide.write_text("")
    os.chmod(wide, 0o644)
    log = tmp_path / "events.sqlite3"
    assert tool("tools.transcript", "export", "--log", str(log), "--out", str(wide)
                ).returncode == 0
    assert stat.S_IMODE(os.stat(wide).st_mode) == 0o600
    piped = tool("tools.transcript", "export", "--log", str(log), "--out", "-")
    assert piped.stdout == exported.read_text(encoding="utf-8")
    assert not (tmp_path / "-").exists()


def test_not_a_transcript_is_said_so(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"hello": 1}\n')
    out = tool("tools.transcript", "verify", str(notes))
    assert out.returncode == 2 and "is not a krunner transcript" in out.stderr
    missing = tool("tools.transcript", "verify", str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 2 and "no transcript at" in missing.stderr
