"""Logs and transcripts a reader should not take at their word: a read-only copy of a live
log, forged values, a file an editor saved with a byte order mark. Each gets a clear answer
and the documented exit code, and no reader crashes on what it reads."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stories import flapping_model, write_log
from tests.test_transcript_trust import _rechained
from tests.tooling import ROOT, tool
from transcripts.events import INPUT, Event
from transcripts.store import EventLog

NEEDS_NAMESPACES = pytest.mark.skipif(
    os.environ.get("CI") != "true" and (os.geteuid() != 0 or not shutil.which("unshare")),
    reason="needs root and unshare(1) for a private read-only mount")


@NEEDS_NAMESPACES
def test_a_read_only_copy_of_a_live_log_gets_the_wal_note(tmp_path: Path) -> None:
    live = EventLog(tmp_path / "live" / "events.sqlite3")
    live.open_session(kernel_id="k", language="python")
    live.append(Event("run:1", INPUT, "code", b"print('still in the wal')"))
    assert live.flush()
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in ("", "-wal"):  # as a support engineer copies a running container's log
        shutil.copy(f"{live.path}{suffix}", copy / f"events.sqlite3{suffix}")
    media = tmp_path / "media"
    media.mkdir()
    script = (f'mount -t tmpfs tmpfs {media} && cp {copy}/* {media}/ && '
              f'mount -o remount,ro {media} && exec "$@"')
    try:
        for argv in (["tools.inspect", "sessions", "--log"],
                     ["tools.transcript", "export", "--out", "-", "--log"]):
            done = subprocess.run(
                ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", *argv,
                 str(media / "events.sqlite3")], capture_output=True, text=True, cwd=ROOT,
                timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
            assert done.returncode == 2, done.stderr
            assert "not an event log" not in done.stderr
            assert "is on read-only media and everything it holds is still in its " \
                   "events.sqlite3-wal" in done.stderr
            assert "copy both files to a writable folder" in done.stderr
    finally:
        live.close()


def _exported(tmp_path: Path) -> tuple[Path, Path]:
    log, out = tmp_path / "events.sqlite3", tmp_path / "session.jsonl"
    write_log(log, flapping_model())
    assert tool("tools.transcript", "export", "--log", str(log), "--out", str(out)
                ).returncode == 0
    return log, out


def _forge(path: Path, line: int, **changes: object) -> None:
    """Change fields of one line and recompute the chain, as a forger would."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    obj = json.loads(lines[line - 1])
    target = obj["session"] if line == 1 else obj
    target.update(changes)
    del obj["h"]
    lines[line - 1] = json.dumps(obj, separators=(",", ":"))[:-1] + ',"h":"' + "0" * 32 + '"}\n'
    path.write_text("".join(_rechained(lines)), encoding="utf-8")


@pytest.mark.parametrize(("line", "changes"), [
    (5, {"wall": 1e300}), (5, {"wall": -5.0}), (6, {"mono": 1e300}),
    (1, {"started_wall": 1e300}), (1, {"ended_wall": 1e300}), (7, {"seq": "7"}),
    (8, {"source": None})])
def test_a_forged_transcript_with_values_no_runner_records_is_refused(
        tmp_path: Path, line: int, changes: dict[str, object]) -> None:
    _, out = _exported(tmp_path)
    _forge(out, line, **changes)
    verified = tool("tools.transcript", "verify", str(out))
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert f"line {line} " in verified.stderr and "ALTERED" in verified.stderr
    copy = tmp_path / "imported.sqlite3"
    imported = tool("tools.transcript", "import", str(out), "--log", str(copy))
    assert imported.returncode == 2 and f"line {line} " in imported.stderr
    if copy.exists():
        listed = tool("tools.inspect", "--log", str(copy), "sessions", "--format", "json")
        assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr
    assert tool("tools.replay", "offline", "--transcript", str(out)).returncode == 2


def test_a_transcript_an_editor_saved_with_a_byte_order_mark_is_altered(
        tmp_path: Path) -> None:
    _, out = _exported(tmp_path)
    out.write_bytes(b"\xef\xbb\xbf" + out.read_bytes())
    verified = tool("tools.transcript", "verify", str(out))
    assert verified.returncode == 1 and "line 1 starts with a byte order mark" in \
        verified.stderr, verified.stderr
    assert tool("tools.transcript", "import", str(out), "--log",
                str(tmp_path / "x.sqlite3")).returncode == 2


def test_readers_show_a_forged_logs_absurd_times_without_crashing(tmp_path: Path) -> None:
    log, _ = _exported(tmp_path)
    db = sqlite3.connect(log)
    db.executescript("UPDATE events SET wall = 1e300 WHERE seq % 3 = 0; "
                     "UPDATE events SET wall = -1e300 WHERE seq = 4; "
                     "UPDATE events SET mono = 9e999 WHERE seq = 5; "
                     "UPDATE sessions SET started_wall = 1e300, ended_wall = 9e999;")
    db.commit()
    db.close()
    picture = tmp_path / "h.png"
    for argv in (["sessions"], ["sessions", "--format", "json"], ["timeline"], ["events"],
                 ["events", "--since", "1h"], ["health"], ["health", "--format", "json"],
                 ["health", "--picture", str(picture)]):
        done = tool("tools.inspect", "--log", str(log), *argv)
        assert done.returncode == 0, (argv, done.stderr)
        assert "Traceback" not in done.stderr
    listed = tool("tools.inspect", "--log", str(log), "sessions")
    assert "1e+300 (not a time)" in listed.stdout
    assert picture.stat().st_size > 0


def test_what_a_forged_file_says_is_shown_escaped_by_verify_and_replay(tmp_path: Path) -> None:
    log, out = _exported(tmp_path)
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    closing = json.loads(lines[-1])
    closing["partial"] = ["\x1b]52;c;cm0gLXJmIH4=\x07 pruned"]
    del closing["h"]
    lines[-1] = json.dumps(closing, separators=(",", ":"))[:-1] + ',"h":"' + "0" * 32 + '"}\n'
    out.write_text("".join(_rechained(lines)), encoding="utf-8")
    for argv in (["tools.transcript", "verify", str(out)],
                 ["tools.replay", "offline", "--transcript", str(out)]):
        done = tool(*argv)
        assert done.returncode == 3, done.stdout + done.stderr
        assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout
        assert "\\x1b]52;c;cm0gLXJmIH4=\\x07 pruned" in done.stdout
    db = sqlite3.connect(log)
    db.execute("UPDATE events SET source = 'model:\x1b]0;title\x07' WHERE source = 'model:llm'")
    db.commit()
    db.close()
    replayed = tool("tools.replay", "offline", "--log", str(log))
    assert "\x1b" not in replayed.stdout and "model:\\x1b]0;title\\x07" in replayed.stdout
