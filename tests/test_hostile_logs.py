"""Logs and transcripts a reader should not take at their word: a read-only copy of a live
log, forged values, a file an editor saved with a byte order mark. Each gets a clear answer
and the documented exit code, and no reader crashes on what it reads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tooling import ROOT
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
