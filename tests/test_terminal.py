"""The `git` runtime: a user's shell on a real pty, typed at over ZeroMQ, watched, restarted."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from machines.terminal import SUPERVISION
from tests.conftest import RunnerProcess, free_port, gone
from tests.service_helpers import log_rows, wait_rows
from transcripts.reader import latest_session, open_readonly
from transcripts.replay import replay_session

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("git") is None,
                                reason="the git runtime tests need bash and git")


class Screen:
    """The viewer's side: PUB keystrokes to the runner's SUB, SUB to the runner's PUB."""

    def __init__(self, keys_port: int, screen_port: int) -> None:
        self._ctx = zmq.Context()
        self._keys = self._ctx.socket(zmq.PUB)
        self._keys.connect(f"tcp://127.0.0.1:{keys_port}")
        self._screen = self._ctx.socket(zmq.SUB)
        self._screen.setsockopt(zmq.SUBSCRIBE, b"")
        self._screen.connect(f"tcp://127.0.0.1:{screen_port}")
        self.seen = b""

    def close(self) -> None:
        self._ctx.destroy(linger=0)

    def read_until(self, pattern: bytes, timeout: float = 20.0) -> re.Match[bytes]:
        """Screen output until `pattern` shows (kept in `seen`); fails the test on timeout."""
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.seen)) is None:
            left = deadline - time.monotonic()
            assert left > 0, f"{pattern!r} never showed; the screen had {self.seen[-500:]!r}"
            if self._screen.poll(int(min(left, 0.2) * 1000)):
                self.seen += self._screen.recv()
        self.seen = self.seen[found.end():]
        return found

    def type_until(self, keys: bytes, pattern: bytes, timeout: float = 20.0) -> re.Match[bytes]:
        """Type `keys`, again each second until `pattern` shows (PUB drops what it sends
        before the subscription reaches the runner)."""
        deadline = time.monotonic() + timeout
        while True:
            self._keys.send(keys)
            try:
                return self.read_until(pattern, timeout=min(1.0, deadline - time.monotonic()))
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise

    def type(self, keys: bytes) -> None:
        self._keys.send(keys)


@pytest.fixture
def git_runner(runner_factory: Callable[..., RunnerProcess]
               ) -> Iterator[tuple[RunnerProcess, Screen]]:
    keys_port, screen_port = free_port(), free_port()
    runner = runner_factory("git", "--terminal-in-port", str(keys_port),
                            "--terminal-out-port", str(screen_port),
                            env={"SHELL": "/bin/bash"})
    screen = Screen(keys_port, screen_port)
    runner.client().status()
    yield runner, screen
    screen.close()


def test_the_git_runtime_starts_and_a_typed_command_runs_in_a_real_terminal(
        git_runner: tuple[RunnerProcess, Screen]) -> None:
    runner, screen = git_runner
    assert runner.client().query("%ping").stdout == "pong!"  # the original failed at start
    screen.type_until(b"echo $((6*7))x\n", rb"42x")
    tty = screen.type_until(b"tty; echo done$((1+1))\n", rb"(/dev/pts/\d+)\r\ndone2")
    ((started,),) = log_rows(runner.log_path,
                             "SELECT data FROM events WHERE name = 'ShellStarted'")
    assert json.loads(started)["tty"].encode() == tty.group(1)
    ((ready,),) = log_rows(runner.log_path, "SELECT json_extract(data, '$.query') FROM events "
                                "WHERE name = 'DriverReady'")
    assert ready == 1


def test_ctrl_c_reaches_the_foreground_job_through_the_terminal(
        git_runner: tuple[RunnerProcess, Screen], tmp_path: Path) -> None:
    _, screen = git_runner
    pid_file = tmp_path / "sleep.pid"
    screen.type_until(f"sh -c 'echo $$ > {pid_file}; exec sleep 300'\n".encode(), rb"sleep 300")
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    screen.type(b"\x03")  # the pty's line discipline turns it into SIGINT for the job
    assert gone(int(pid_file.read_text()), within=10)
    screen.type_until(b"echo back$((2+3))\n", rb"back5")


def test_a_killed_shell_restarts_and_says_restarting(
        git_runner: tuple[RunnerProcess, Screen]) -> None:
    runner, screen = git_runner
    first = int(screen.type_until(b"echo pid=$$.\n", rb"pid=(\d+)\.").group(1))
    os.kill(first, signal.SIGKILL)
    screen.read_until(rb"Restarting\.\.\.\r\n")
    second = int(screen.type_until(b"echo pid=$$.\n", rb"pid=(\d+)\.").group(1))
    assert second != first
    exited = wait_rows(runner.log_path, "SELECT data FROM events WHERE name = 'ShellExited'")
    assert json.loads(exited[0][0])["pid"] == first
    assert json.loads(exited[0][0])["exit_code"] == -signal.SIGKILL
    assert [state for state, _ in _terminal_moves(runner)] == [
        "starting", "running", "backoff", "starting", "running"]  # the machine restarted it
    assert runner.client().query("%ping").exit_code == 0  # queries still answered


def test_resize_changes_what_programs_in_the_terminal_see(
        git_runner: tuple[RunnerProcess, Screen]) -> None:
    runner, screen = git_runner
    result = runner.client().query("%resize 30 100")
    assert (result.exit_code, result.stdout) == (
        0, "OK; terminal resized to 30 lines and 100 columns")
    screen.type_until(b"stty size\n", rb"[\r\n]30 100\r\n")


def test_each_query_gets_exactly_one_finished(git_runner: tuple[RunnerProcess, Screen]
                                              ) -> None:
    runner, _ = git_runner
    client = runner.client()
    assert client.query("%ping").exit_code == 0
    assert client.query("%resize 24 80").exit_code == 0
    client.send("status")
    assert client.recv(timeout=10)[0] == "status"  # no stray `finished` was waiting
    runner.stop()
    finished = log_rows(runner.log_path, "SELECT source, count(*) FROM events "
                                         "WHERE kind = 'output' AND name = 'finished' "
                                         "GROUP BY source")
    assert [n for _, n in finished] == [1, 1]


def test_bad_commands_get_an_answer_and_the_runner_stays(
        git_runner: tuple[RunnerProcess, Screen]) -> None:
    runner, _ = git_runner
    client = runner.client()
    plain = client.query("ls")
    assert (plain.exit_code, plain.stderr) == (127, "Invalid command.\n")
    for bad in ("%resize x y", "%resize 3", "%nope", "%show tree .", "%ping 'unclosed"):
        result = client.query(bad)
        assert result.exit_code == 2, bad
        assert "usage: %ping" in result.stderr, bad
    assert client.query("%ping").stdout == "pong!"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Bob", "GIT_COMMITTER_EMAIL": "bob@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(git_runner: tuple[RunnerProcess, Screen]) -> Path:
    """A repository with a side branch merged back: main <- feature (two commits)."""
    path = git_runner[0].work_dir / "repo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    for n, branch in ((1, "main"), (2, "feature"), (3, "feature")):
        if n == 2:
            _git(path, "checkout", "-q", "-b", "feature")
        (path / f"f{n}").write_text(str(n))
        _git(path, "add", ".")
        _git(path, "commit", "-q", "-m", f"commit {n} || on {branch}")
    _git(path, "checkout", "-q", "main")
    _git(path, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    return path


def test_show_graph_sends_the_commit_graph_as_gitgraph_media(
        git_runner: tuple[RunnerProcess, Screen], repo: Path) -> None:
    runner, _ = git_runner
    result = runner.client().query(f"%show graph {repo}")
    assert result.exit_code == 0
    (media,) = result.media
    assert media["type"] == "application/vnd.sorna.gitgraph"
    commits = media["data"]
    assert [c["message"] for c in commits] == [
        "commit 1 || on main", "commit 2 || on feature", "commit 3 || on feature",
        "merge feature"]
    short = {c["message"]: c["oid"] for c in commits}
    assert _git(repo, "rev-parse", "--short", "HEAD") == short["merge feature"]
    root, second, third, merge = commits
    assert root["parent_ids"] == [] and root["branch"] == "main"
    assert second["parent_ids"] == [root["oid"]]
    assert merge["parent_ids"] == [root["oid"], third["oid"]]  # main first, then feature
    assert (merge["branch"], third["branch"]) == ("main", "feature")
    assert merge["parent_branches"] == [root["branch"], "feature"]
    assert {c["author"] for c in commits} == {"Ada"}


def test_show_graph_of_dot_is_the_shells_current_folder(
        git_runner: tuple[RunnerProcess, Screen], repo: Path) -> None:
    runner, screen = git_runner
    screen.type_until(f"cd {repo}; echo in$((4+4))\n".encode(), rb"in8")
    result = runner.client().query("%show graph .")
    assert result.exit_code == 0
    assert len(result.media[0]["data"]) == 4
    elsewhere = runner.client().query(f"%show graph {repo.parent}")  # not a repository
    assert elsewhere.exit_code == 128
    assert "not a git repository" in elsewhere.stderr


def test_ports_move_by_environment_and_shutdown_leaves_no_process(
        runner_factory: Callable[..., RunnerProcess], tmp_path: Path) -> None:
    keys_port, screen_port = free_port(), free_port()
    runner = runner_factory("git", env={"SHELL": "/bin/bash",
                                        "KRUNNER_TERMINAL_IN_PORT": str(keys_port),
                                        "KRUNNER_TERMINAL_OUT_PORT": str(screen_port)})
    screen = Screen(keys_port, screen_port)
    try:
        runner.client().status()
        pids = tmp_path / "pids"
        screen.type_until(f"sleep 301 & echo $! >> {pids}; echo $$ >> {pids}; "
                          "nohup sleep 302 >/dev/null 2>&1 & echo $! >> {pids}; "
                          "echo started$((1+1))\n".replace("{pids}", str(pids)).encode(),
                          rb"started2")
        screen.type(b"sleep 303\n")
        assert runner.stop() == 0
        recorded = [int(p) for p in pids.read_text().split()]
        assert len(set(recorded)) == 3
        for pid in recorded:
            assert gone(pid), f"process {pid} outlived the runner"
        bound = log_rows(runner.log_path, "SELECT data FROM events WHERE name = 'TerminalBound'")
        assert json.loads(bound[0][0]) == {"keystrokes": keys_port, "screen": screen_port,
                                           **SUPERVISION}
        assert [state for state, _ in _terminal_moves(runner)][-2:] == ["stopping", "stopped"]
        assert "Traceback" not in runner.stderr_text()
    finally:
        screen.close()


def test_show_graph_takes_a_path_with_spaces_quoted_escaped_or_plain(
        git_runner: tuple[RunnerProcess, Screen], repo: Path) -> None:
    runner, _ = git_runner
    spaced = repo.rename(repo.parent / "my  repo")  # two spaces: only quoting keeps them
    client = runner.client()
    for given in ('"my  repo"', "'my  repo'", "my\\ \\ repo", f'"{spaced}"'):
        result = client.query(f"%show graph {given}")
        assert result.exit_code == 0, (given, result.stderr)
        assert len(result.media[0]["data"]) == 4
    (spaced.parent / "other repo").symlink_to(spaced)
    assert client.query("%show graph other repo").exit_code == 0
    wrong = client.query("%show graph no such repo")
    assert wrong.exit_code == 2
    assert 'quote a path with spaces' in wrong.stderr and "usage: %ping" in wrong.stderr


@pytest.mark.parametrize(("path", "says"), [
    ("a" * 5000, "the path is too long: "),
    ("a/" * 2500, "the path is too long: "),
    ("b" * 300, "a name in the path is too long: 300 bytes, at most 255"),
    ("x\0y", "the path contains a NUL character"),
])
def test_show_graph_of_a_path_that_cannot_be_a_folder_says_why(
        git_runner: tuple[RunnerProcess, Screen], path: str, says: str) -> None:
    runner, _ = git_runner
    result = runner.client().query(f"%show graph {path}")
    assert result.exit_code in (1, 2), result.stderr
    assert says in result.stderr
    assert "[krunner]" not in result.stderr and len(result.stderr) < 300
    assert runner.client().query("%ping").stdout == "pong!"
    assert "Traceback" not in runner.stderr_text()


def test_show_graph_of_a_file_or_a_missing_folder_exits_1(
        git_runner: tuple[RunnerProcess, Screen], repo: Path) -> None:
    runner, _ = git_runner
    for given, says in (("repo/f1", "no such folder: "), ("missing", "no such folder: ")):
        result = runner.client().query(f"%show graph {given}")
        assert (result.exit_code, result.stderr.split("/")[0]) == (1, says), result.stderr


def _terminal_moves(runner: RunnerProcess) -> list[tuple[str, Any]]:
    """The terminal machine's moves so far: (to_state, what the move carried)."""
    rows = log_rows(runner.log_path, "SELECT to_state, data FROM events WHERE source = "
                                     "'terminal' AND kind = 'transition' ORDER BY seq")
    return [(state, json.loads(data) if data else None) for state, data in rows]


BROKEN_SHELL = """#!/bin/sh
# a shell whose start-up is broken (an `exit` in the rc file) until `fixed` exists
[ -e "$(dirname "$0")/fixed" ] || exit 3
exec /bin/bash "$@"
"""


def test_a_shell_that_keeps_dying_backs_off_then_waits_for_enter(
        runner_factory: Callable[..., RunnerProcess], tmp_path: Path) -> None:
    """The user's shell exits at once, again and again: the terminal machine restarts it
    with doubling delays, gives up after five quick ends (fatal), says so on the screen, and
    starts it again when the user, having fixed it, presses Enter. The log shows each state,
    and offline replay of the log reaches the same ones."""
    shell = tmp_path / "broken-shell"
    shell.write_text(BROKEN_SHELL)
    shell.chmod(0o755)
    keys_port, screen_port = free_port(), free_port()
    runner = runner_factory("git", "--terminal-in-port", str(keys_port),
                            "--terminal-out-port", str(screen_port), env={"SHELL": str(shell)})
    screen = Screen(keys_port, screen_port)
    try:
        runner.client().status()
        wait_rows(runner.log_path, "SELECT 1 FROM events WHERE source = 'terminal' "
                                   "AND to_state = 'fatal'", within=60)
        moves = _terminal_moves(runner)
        give_up = int(SUPERVISION["give_up_after"])
        assert [state for state, _ in moves] == (
            ["starting", "running"] + ["backoff", "starting", "running"] * (give_up - 1)
            + ["fatal"])
        delays = [data["delay"] for state, data in moves if state == "backoff"]
        assert delays == [0.25, 0.5, 1.0, 2.0]  # doubling from backoff_base
        assert moves[-1][1]["quick_ends"] == give_up
        assert "exited with code 3" in moves[-1][1]["reason"]
        screen.read_until(rb"not restarted: 5 quick ends in a row.*\r\nPress Enter to start "
                          rb"it again")
        (tmp_path / "fixed").touch()
        screen.type_until(b"echo fixed$((3*3))\n", rb"fixed9")  # the first Enter starts it
        assert [state for state, _ in _terminal_moves(runner)][-3:] == [
            "fatal", "starting", "running"]
        assert runner.client().query("%ping").stdout == "pong!"
        assert runner.stop() == 0
        report = replay_session(db := open_readonly(runner.log_path),
                                str(latest_session(db)))
        assert report.ok, report.divergence
        replayed = [state for _, state in report.timelines["terminal"]]
        assert replayed == [state for state, _ in _terminal_moves(runner)]
        assert replayed[-3:] == ["running", "stopping", "stopped"]
    finally:
        screen.close()


def test_a_shell_that_cannot_start_counts_as_a_quick_end(
        git_runner: tuple[RunnerProcess, Screen]) -> None:
    """The user removes the folder the shell starts in, then ends the shell: each new shell
    cannot start at all (ShellStartFailed), the machine backs off and gives up as for shells
    that die; with the folder back, Enter brings a shell."""
    runner, screen = git_runner
    work = runner.work_dir
    first = int(screen.type_until(b"echo pid=$$.\n", rb"pid=(\d+)\.").group(1))
    parked = work.rename(work.with_name("parked"))
    os.kill(first, signal.SIGKILL)
    wait_rows(runner.log_path, "SELECT 1 FROM events WHERE source = 'terminal' "
                               "AND to_state = 'fatal'", within=60)
    failed = log_rows(runner.log_path, "SELECT data FROM events WHERE name = 'ShellStartFailed'")
    give_up = int(SUPERVISION["give_up_after"])
    ((killed,),) = log_rows(runner.log_path, "SELECT data FROM events WHERE name = 'ShellExited'")
    quick = json.loads(killed)["lived_s"] < SUPERVISION["stable_after"]
    assert len(failed) == give_up - quick  # the killed shell may have been the first quick end
    assert "No such file or directory" in json.loads(failed[0][0])["reason"]
    assert [s for s, _ in _terminal_moves(runner)][-3:] == ["backoff", "starting", "fatal"]
    parked.rename(work)
    screen.type_until(b"echo back$((5*5))\n", rb"back25")
    assert [s for s, _ in _terminal_moves(runner)][-2:] == ["starting", "running"]
