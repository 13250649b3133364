"""Live replay: a recorded session's frames, sent to a fresh runner, give the same answers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import RunnerProcess
from tools import live_reasons as reasons
from tools.live import replay_live
from transcripts import conversation as talk
from transcripts.events import FRONTEND, INPUT, KERNEL, OBSERVATION, OUTPUT, Event
from transcripts.reader import Recorded, events, latest_session, open_readonly

ROOT = Path(__file__).resolve().parent.parent


def _recorded(log: Path) -> list[Recorded]:
    conn = open_readonly(log)
    try:
        return list(events(conn, latest_session(conn) or ""))
    finally:
        conn.close()


def _a_session(runner: RunnerProcess) -> None:
    client = runner.client()
    client.status()
    client.query("print('hello')\nx = 41")
    client.query("y = input('? ')\nprint(x + int(y))", inputs=["1"])
    client.batch(clean="echo clean", build="echo building; exit 2", exec="echo never")
    client.batch(exec="python3 -c \"print(input('name? '))\"", inputs=["ada"])
    client.query("1/0")
    client.send_raw([b"no-such-op", b"x"])
    client.send_raw([b"code"])
    assert "print" in client.complete("pri")
    client.send("code", "import time\nprint('sleeping', flush=True)\ntime.sleep(30)")
    assert client.recv(timeout=30) == ("stdout", b"sleeping\n")
    time.sleep(0.5)  # the user waits a little, then interrupts (the replay keeps this gap)
    client.interrupt()
    assert client.collect("finished").exit_code == 1
    assert runner.stop() == 0


def test_a_recorded_session_replays_live_with_the_same_answers(runner: RunnerProcess) -> None:
    _a_session(runner)
    recorded = _recorded(runner.log_path)
    report = replay_live(recorded, "python", timeout=30)
    assert report.differences == [] and report.stalls == []
    assert report.ok
    assert report.answers_got == report.answers_expected == talk.answers(recorded)
    assert report.sent == sum(1 for r in recorded if r.event.kind == INPUT)


def test_a_changed_answer_is_shown_as_a_difference(runner: RunnerProcess,
                                                   tmp_path: Path) -> None:
    client = runner.client()
    client.query("print(6 * 7)")
    assert runner.stop() == 0
    tampered = tmp_path / "tampered.sqlite3"
    shutil.copy(runner.log_path, tampered)
    db = sqlite3.connect(tampered)
    with db:
        db.execute("UPDATE events SET data = ? WHERE kind = 'output' AND name = 'stdout'",
                   (b"41\n",))
    db.close()
    done = subprocess.run([sys.executable, "-m", "tools.replay", "live", "--log", str(tampered)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "live replay DIFFERS" in done.stdout
    assert "-stdout: '41\\n'" in done.stdout and "+stdout: '42\\n'" in done.stdout


def _rec(seq: int, event: Event) -> Recorded:
    return Recorded(seq, "s", event)


def test_inbound_frames_are_rebuilt_as_the_agent_sent_them() -> None:
    recorded = [
        _rec(1, Event(FRONTEND, INPUT, "status", b"", mono=1.0)),
        _rec(2, Event(FRONTEND, OUTPUT, "status", b"\x81")),
        _rec(3, Event("run:1", INPUT, "code", b"x = input()", mono=1.5)),
        _rec(4, Event("run:1", OUTPUT, "waiting-input", b'{"is_password": true}')),
        _rec(5, Event("run:1", INPUT, "input", "<redacted>", mono=4.0)),
        _rec(6, Event(FRONTEND, INPUT, "complete", {"code": "pri"}, mono=4.5)),
        _rec(7, Event(FRONTEND, INPUT, "<unreadable>",
                      {"frames": [b"\xff", b"x"], "rejected": "op is not ASCII"}, mono=5.0)),
        _rec(8, Event(FRONTEND, INPUT, "get-apps", {"payload": b"\xff", "rejected": "UTF-8"},
                      mono=5.0)),
        _rec(9, Event("service:web", INPUT, "shutdown-service", "web", mono=6.0)),
    ]
    sent = talk.inbound(recorded)
    assert [s.frames for s in sent] == [
        [b"status", b""], [b"code", b"x = input()"], [b"input", b"<redacted>"],
        [b"complete", b'{"code": "pri"}'], [b"\xff", b"x"], [b"get-apps", b"\xff"],
        [b"shutdown-service", b'"web"']]
    assert [s.answers_before for s in sent] == [0, 1, 2, 2, 2, 2, 2]
    assert [s.gap for s in sent] == [0.0, 0.5, 2.5, 0.5, 0.5, 0.0, 1.0]
    assert [s.redacted for s in sent] == [False, False, True, False, False, False, False]


def test_conversations_join_chunks_and_mask_what_is_volatile() -> None:
    started = Event(KERNEL, OBSERVATION, "RunnerStarted", {"work_dir": "/home/work"})
    recorded = [_rec(1, started),
                _rec(2, Event(FRONTEND, OUTPUT, "status", b"\x81\xaastarted_at\xcb")),
                _rec(3, Event("run:1", OUTPUT, "stdout", b"in /home/work at ")),
                _rec(4, Event(FRONTEND, OUTPUT, "status", b"\x81\xaastarted_at\xcc")),
                _rec(5, Event("run:1", OUTPUT, "stdout", b"0x7f3a9c2b10d0\n")),
                _rec(6, Event("run:1", OUTPUT, "finished", b'{"exitCode": 0}'))]
    got = talk.by_source(recorded, talk.volatile_paths(recorded))
    assert got == {FRONTEND: ["status: '<started_at>'", "status: '<started_at>'"],
                   "run:1": ["stdout: 'in <work> at 0x…\\n'",
                             "finished: '{\"exitCode\": 0}'"]}
    assert talk.differences(got, got) == []
    assert talk.differences(got, {FRONTEND: got[FRONTEND]})[:2] == [
        "--- recorded run:1", "+++ replayed run:1"]


def test_live_replay_works_on_a_copy_of_a_relative_folder_and_takes_masks(
        runner: RunnerProcess, tmp_path: Path) -> None:
    (runner.work_dir / "given.txt").write_text("from the user")
    client = runner.client()
    client.query("import random\nopen('made.txt', 'w').write('x')\n"
                 "print(open('given.txt').read(), random.randint(1000, 9999))")
    assert runner.stop() == 0
    folder = tmp_path / "user-work"
    folder.mkdir()
    (folder / "given.txt").write_text("from the user")
    cmd = [sys.executable, "-m", "tools.replay", "live", "--log", str(runner.log_path),
           "--work-dir", "user-work"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    plain = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env,
                           timeout=120)
    assert plain.returncode == 1, plain.stderr  # the random number differs
    assert "was not reproduced" in plain.stdout and "from the user" in plain.stdout
    masked = subprocess.run([*cmd, "--mask", r"\d{4}"], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    assert masked.returncode == 0, masked.stdout + masked.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["given.txt"]  # never changed
    bad = subprocess.run([*cmd, "--mask", "("], capture_output=True, text=True, cwd=tmp_path,
                         env=env, timeout=60)
    assert bad.returncode == 2


def test_a_replay_names_what_came_from_outside_and_what_it_could_not_reproduce() -> None:
    recorded = [
        _rec(1, Event("service:web", INPUT, "start-service", {"name": "web"})),
        _rec(2, Event("service:web", OUTPUT, "service-result", b'{"status": "started"}')),
        _rec(3, Event("model:llm", OBSERVATION, "ProcessExited", {"pid": 7, "exit_code": -9})),
        _rec(4, Event("kernel", OBSERVATION, "KernelDied", {"reason": "heartbeat lost"})),
    ]
    outside = reasons.from_outside(recorded)
    assert outside == [
        "recorded event 3 (model:llm ProcessExited): the process was killed by signal 9 "
        "from outside the session; a replay cannot do that again",
        "recorded event 4 (kernel KernelDied: heartbeat lost): the Jupyter kernel died from "
        "outside the session; a replay cannot do that again"]
    gone = {"service:web": ["service-result: '{\"status\": \"failed\"}'"]}
    diff = talk.differences(talk.by_source(recorded, []), gone)
    assert reasons.unreproduced(recorded, diff) == [
        "recorded event 1 (service:web start-service) was not reproduced: it answered "
        "service-result: '{\"status\": \"started\"}' then, and service-result: "
        "'{\"status\": \"failed\"}' now"]
    shut = [_rec(1, Event("service:web", INPUT, "shutdown-service", "web")),
            _rec(2, Event("service:web", OBSERVATION, "ProcessExited", {"exit_code": -15}))]
    assert reasons.from_outside(shut) == []


def _live_runner_pid(within: float = 60.0) -> int:
    """The pid of the runner a live replay started (a child of this process)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for proc in Path("/proc").iterdir():
            try:
                ppid = int((proc / "stat").read_text().rsplit(") ", 1)[1].split()[1])
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError, IndexError):
                continue
            if ppid == os.getpid() and b"runner" in argv and any(b"krunner-live-" in a
                                                                 for a in argv):
                return int(proc.name)
        time.sleep(0.05)
    raise AssertionError("the live replay started no runner")


def _listening(pid: int) -> set[str]:
    """The addresses a process's TCP sockets listen on (IPv4 dotted, IPv6 as hex)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                host = fields[1].split(":")[0]
                found.add(".".join(str(b) for b in bytes.fromhex(host)[::-1])
                          if len(host) == 8 else host)
    return found


def test_the_replaying_runner_listens_on_loopback_only(runner: RunnerProcess) -> None:
    client = runner.client()
    client.query("import time\ntime.sleep(2)\nprint('slept')")
    assert runner.stop() == 0
    recorded = _recorded(runner.log_path)
    with ThreadPoolExecutor(1) as pool:
        replay = pool.submit(replay_live, recorded, "python", timeout=30)
        pid = _live_runner_pid()
        addresses: set[str] = set()
        deadline = time.monotonic() + 30
        while len(addresses) < 1 and time.monotonic() < deadline and not replay.done():
            with contextlib.suppress(OSError):
                addresses = _listening(pid)
        assert replay.result().ok
    assert addresses == {"127.0.0.1"}, addresses


def test_a_live_replay_of_a_killed_session_says_it_is_partial(runner: RunnerProcess) -> None:
    runner.client().query("print('hello')")
    deadline = time.monotonic() + 30
    while not sqlite3.connect(runner.log_path).execute(  # the answer is in the log
            "SELECT 1 FROM events WHERE kind = 'output' AND name = 'finished'").fetchone():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(runner.proc.pid, signal.SIGKILL)
    runner.proc.wait()
    done = subprocess.run([sys.executable, "-m", "tools.replay", "live", "--log",
                           str(runner.log_path)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "live replay matches" in done.stdout
    assert "PARTIAL: the session is not whole (the session never ended: its runner was " \
           "killed or crashed" in done.stdout
