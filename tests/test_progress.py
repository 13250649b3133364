"""Long work shows progress on a terminal (count, rate, time left) and nothing in a pipe or
with --quiet: export, verify, import, replay, report and prune, each run as a user does, its
stderr a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.stories import write_log
from tests.tooling import ROOT, tool
from transcripts.events import OBSERVATION, Event

T0 = 1_700_000_000.0


def on_a_terminal(*argv: str) -> tuple[int, str]:
    """Run a tool with stderr on a pseudo-terminal; its exit code and what the terminal got."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", *argv], stdout=subprocess.DEVNULL,
                            stderr=follower, cwd=ROOT, env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the tool closed the terminal: it has ended
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return proc.wait(timeout=60), seen.decode(errors="replace")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("progress")
    log = folder / "events.sqlite3"
    write_log(log, [Event("model:m", OBSERVATION, "ModelConfigured", {}, wall=T0 + i,
                          mono=T0 + i) if i == 0 else
                    Event("model:m", OBSERVATION, "ProbeSucceeded", {"status": 200},
                          wall=T0 + i, mono=T0 + i) for i in range(3000)])
    transcript = folder / "session.jsonl"
    assert tool("tools.transcript", "export", "--log", str(log), "--out",
                str(transcript)).returncode == 0
    return {"log": log, "transcript": transcript, "folder": folder}


def commands(f: dict[str, Path]) -> dict[str, list[str]]:
    return {
        "exporting": ["tools.transcript", "export", "--log", str(f["log"]), "--out",
                      str(f["folder"] / "again.jsonl")],
        "verifying": ["tools.transcript", "verify", str(f["transcript"])],
        "importing": ["tools.transcript", "import", str(f["transcript"]), "--log",
                      str(f["folder"] / f"imported-{os.urandom(4).hex()}.sqlite3")],
        "replaying": ["tools.replay", "offline", "--transcript", str(f["transcript"])],
        "writing the report": ["tools.transcript", "report", str(f["transcript"]), "-o",
                               str(f["folder"] / "report.html")],
    }


@pytest.mark.parametrize("what", ["exporting", "verifying", "importing", "replaying",
                                  "writing the report"])
def test_long_work_shows_progress_on_a_terminal(files: dict[str, Path], what: str) -> None:
    code, seen = on_a_terminal(*commands(files)[what])
    assert code == 0, seen
    assert what in seen and "events" in seen and "/s" in seen, seen  # a count and a rate
    assert "100%" in seen  # and how far it is: the time left while it runs


@pytest.mark.parametrize("what", ["verifying", "replaying"])
def test_no_progress_with_quiet_or_in_a_pipe(files: dict[str, Path], what: str) -> None:
    code, quiet = on_a_terminal(*commands(files)[what], "--quiet")
    assert code == 0 and what not in quiet
    piped = tool(*commands(files)[what])
    assert piped.returncode == 0 and what not in piped.stderr and "\r" not in piped.stderr


def test_prune_shows_that_it_works_on_a_terminal(files: dict[str, Path]) -> None:
    code, seen = on_a_terminal("tools.transcript", "prune", "--log", str(files["log"]),
                               "--before", "2000-01-01T00:00:00+00:00")
    assert code == 0 and "pruning" in seen and "deleted 0 events" in seen
