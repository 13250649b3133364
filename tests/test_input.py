"""Input for any program that reads its stdin: how it waits does not matter, passwords stay out
of the log, an interrupt while waiting ends it, and a pipe of its own is not the agent's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunnerProcess, gone
from tests.lang_support import asked_once_then_finished, session_pids, until_input
from tests.service_helpers import ROOT
from tools.client import AgentClient
from transcripts.reader import events, latest_session, open_readonly
from transcripts.transcript import load

PY = sys.executable
WAITS = {
    "read": "printf 'line 0? '; read a; echo \"got $a\"; printf 'line 1? '; read b; "
            "echo \"got $b\"",
    "select": f"{PY} -c \"import select, sys\nfor i in range(2):\n"
              f"    print(f'line {{i}}? ', end='', flush=True)\n"
              f"    select.select([sys.stdin], [], [])\n"
              f"    print('got', sys.stdin.readline().strip(), flush=True)\"",
    "poll": f"{PY} -c \"import select, sys\np = select.poll(); p.register(0, select.POLLIN)\n"
            f"for i in range(2):\n    print(f'line {{i}}? ', end='', flush=True)\n"
            f"    p.poll()\n    print('got', sys.stdin.readline().strip(), flush=True)\"",
    "epoll": f"{PY} -c \"import select, sys\ne = select.epoll(); e.register(0, select.EPOLLIN)\n"
             f"for i in range(2):\n    print(f'line {{i}}? ', end='', flush=True)\n"
             f"    e.poll()\n    print('got', sys.stdin.readline().strip(), flush=True)\"",
}


@pytest.mark.parametrize("how", sorted(WAITS))
def test_a_program_waiting_on_stdin_any_way_gets_each_line(runner: RunnerProcess, how: str
                                                           ) -> None:
    client = runner.client()
    client.send("exec", WAITS[how])
    assert until_input(client).endswith("line 0? ")
    client.send("input", "alpha")
    assert until_input(client).endswith("got alpha\nline 1? ")
    client.send("input", "beta")
    result = client.collect("finished")
    assert (result.exit_code, result.stdout) == (0, "got beta\n")


def test_a_password_typed_at_a_prompt_is_not_recorded(runner: RunnerProcess) -> None:
    client = runner.client()
    client.send("exec", "printf 'Password: '; read secret; echo \"length ${#secret}\"")
    until_input(client)
    client.send("input", "hunter2-Sw0rdfish")
    assert client.collect("finished").stdout == "length 17\n"
    runner.stop()
    raw = runner.log_path.read_bytes()
    wal = runner.log_path.with_name(runner.log_path.name + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    assert b"hunter2-Sw0rdfish" not in raw


def test_interrupt_while_waiting_ends_the_program_and_the_next_run_works(
        runner: RunnerProcess) -> None:
    client = runner.client()
    client.query("pass")  # the Jupyter kernel is up: it is not part of the run
    kernel = set(session_pids(runner.proc.pid))
    client.send("exec", "printf 'never answered? '; read x; echo unreachable")
    until_input(client)
    members = [pid for pid in session_pids(runner.proc.pid) if pid not in kernel]
    assert members
    client.interrupt()
    result = client.collect("finished", timeout=30)
    assert result.exit_code != 0 and "unreachable" not in result.stdout
    assert all(gone(pid) for pid in members)
    assert client.batch(exec="echo next").exec.stdout == "next\n"


def test_a_read_from_the_programs_own_pipe_does_not_ask_the_agent(runner: RunnerProcess
                                                                  ) -> None:
    result = runner.client().batch(exec="(sleep 0.5; echo piped) | cat; echo done")
    assert result.waiting_inputs == []
    assert result.exec.stdout == "piped\ndone\n"


TIMED = """import select, sys
print('line 0? ', end='', flush=True)
select.select([sys.stdin], [], [], 60)
print('got', sys.stdin.readline().strip(), flush=True)
print('line 1? ', end='', flush=True)
while not select.select([sys.stdin], [], [], 0.5)[0]:
    pass
print('got', sys.stdin.readline().strip(), flush=True)
"""


def test_a_timed_wait_is_a_question_at_once_and_after_an_answer_once_it_outlasts_itself(
        runner: RunnerProcess) -> None:
    """A wait with a timeout ("answer within 60 s") is asked at once; after an answer, a
    program polling stdin silently every 0.5 s is asked once such a wait has passed."""
    (runner.work_dir / "timed.py").write_text(TIMED)
    client = runner.client()
    client.send("exec", f"{PY} timed.py")
    assert until_input(client, timeout=10).endswith("line 0? ")
    client.send("input", "alpha")
    assert until_input(client, timeout=10).endswith("got alpha\nline 1? ")
    client.send("input", "beta")
    result = client.collect("finished")
    assert (result.exit_code, result.stdout, result.waiting_inputs) == (0, "got beta\n", [])


def test_an_input_sent_early_waits_for_the_next_read(runner: RunnerProcess) -> None:
    client = runner.client()
    client.send("exec", "sleep 0.3; read a; echo \"got $a\"")
    client.send("input", "early")
    result = client.collect("finished")
    assert result.exit_code == 0
    assert result.stdout == "got early\n"
    assert result.waiting_inputs == []


# --- secrets: an answer the terminal would not echo, or to a prompt naming a secret -------
SECRET = "hunter2-Sw0rdfish"
BASH = shutil.which("bash") or "bash"
SECRET_ASKS = {
    "read -s, no prompt": f"{BASH} -c 'read -s k; echo \"length ${{#k}}\"'",
    "stty -echo": f"{BASH} -c 'stty -echo; read k; stty echo; echo \"length ${{#k}}\"'",
    "API key prompt": "printf 'Enter your API key: '; read k; echo \"length ${#k}\"",
    "token prompt on stderr": "printf 'GitHub token? ' >&2; read k; echo \"length ${#k}\"",
    "input() naming a key": f"{PY} -c \"k = input('Enter your API key: '); "
                            f"print('length', len(k))\"",
}


def recorded_inputs(runner: RunnerProcess, tmp_path: Path) -> list[object]:
    """Stop the runner, export its transcript; the `input` payloads as the log and the
    transcript hold them (each must agree), after checking that neither holds the secret."""
    runner.stop()
    out = tmp_path / "session.jsonl"
    subprocess.run([PY, "-m", "tools.transcript", "export", "--log", str(runner.log_path),
                    "--out", str(out)], check=True, cwd=ROOT, capture_output=True)
    conn = open_readonly(runner.log_path)
    in_log = [r.event for r in events(conn, latest_session(conn) or "")]
    _, in_transcript = load(out)
    everything = [repr(e) for e in in_log] + [repr(r.event) for r in in_transcript]
    assert not [e for e in everything if SECRET in e or SECRET.encode().hex() in e]
    inputs = [e.data for e in in_log if e.kind == "input" and e.name == "input"]
    assert inputs == [r.event.data for r in in_transcript
                      if r.event.kind == "input" and r.event.name == "input"]
    return inputs


@pytest.mark.parametrize("how", sorted(SECRET_ASKS))
def test_an_answer_the_terminal_would_hide_or_to_a_secret_prompt_is_redacted(
        runner: RunnerProcess, tmp_path: Path, how: str) -> None:
    client = runner.client()
    client.send("exec", SECRET_ASKS[how])
    asked = json.loads(client.wait_for("waiting-input") or b"{}")
    assert asked == {"is_password": True}
    client.send("input", SECRET)
    result = client.collect("finished")
    assert (result.exit_code, result.stdout) == (0, f"length {len(SECRET)}\n")
    assert result.waiting_inputs == []
    assert recorded_inputs(runner, tmp_path) == ["<redacted>"]


def test_a_plain_question_stays_plain_and_its_answer_is_recorded(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    client.send("exec", "printf 'Press any key, then your name: '; read n; echo \"hi $n\"")
    assert client.wait_for("waiting-input") == b""  # the agent's usual batch question
    client.send("input", "Ada")
    assert client.collect("finished").stdout == "hi Ada\n"
    assert recorded_inputs(runner, tmp_path) == [b"Ada"]


def test_a_query_asking_for_a_key_marks_it_a_password(runner: RunnerProcess, tmp_path: Path
                                                      ) -> None:
    client = runner.client()
    client.send("code", "k = input('Paste your access token: ')\nprint(len(k))")
    assert json.loads(client.wait_for("waiting-input")) == {"is_password": True}
    client.send("input", SECRET)
    assert client.collect("finished").stdout.endswith(f"{len(SECRET)}\n")
    assert recorded_inputs(runner, tmp_path) == ["<redacted>"]


# --- a terminal, as a user's ---------------------------------------------------------------
def console_until_input(client: AgentClient) -> list[tuple[str, bytes]]:
    """stdout and stderr chunks up to the next `waiting-input`."""
    seen: list[tuple[str, bytes]] = []
    while (message := client.recv(60, "waiting-input"))[0] != "waiting-input":
        assert message[0] in ("stdout", "stderr"), message
        seen.append(message)
    return seen


def test_a_program_reads_its_stdin_from_a_terminal(runner: RunnerProcess) -> None:
    """`read -p` shows its prompt only when reading a terminal; a long line arrives whole
    (a canonical-mode terminal would cut it at 4095 bytes); ^C, ^D and CR are plain bytes."""
    client = runner.client()
    client.send("exec", f"{BASH} -c 'test -t 0 && echo tty; read -r -p \"Name? \" n; "
                        "echo \"${#n} $n\" | cut -c1-12; read -r m; printf %s \"$m\" | od -An -c'")
    assert console_until_input(client) == [("stdout", b"tty\n"), ("stderr", b"Name? ")]
    client.send("input", "x" * 100_000)
    assert until_input(client).endswith("100000 xxxxx\n")
    client.send("input", "a\x03b\x04c\rd")
    result = client.collect("finished")
    assert result.exit_code == 0
    assert result.stdout.split() == ["a", "003", "b", "004", "c", "\\r", "d"]


PYTHON_ONCE = {
    "sys.stdin": "import sys\nprint('Name? ', end='', flush=True)\n"
                 "print('hello', sys.stdin.readline().strip())\nsys.exit(3)\n",
    "input() hook": "import sys\nprint('hello', input('Name? '))\nsys.exit(3)\n",
}


@pytest.mark.parametrize("how", sorted(PYTHON_ONCE))
def test_a_python_batch_program_asked_once_ends_with_its_code(runner: RunnerProcess, how: str
                                                              ) -> None:
    (runner.work_dir / "main.py").write_text(PYTHON_ONCE[how])
    client = runner.client()
    client.send("exec", "*")
    assert asked_once_then_finished(client, "Name? ", "Ada") == ("Name? hello Ada\n", 3)


NO_PTY = "import os\n\ndef _no_pty():\n    raise OSError('no /dev/ptmx here')\n\n" \
         "os.openpty = _no_pty\n"


def test_without_ptys_stdin_is_a_pipe_and_questions_still_work(
        runner_factory: Callable[..., RunnerProcess], tmp_path: Path) -> None:
    (tmp_path / "nopty").mkdir()
    (tmp_path / "nopty" / "sitecustomize.py").write_text(NO_PTY)
    runner = runner_factory(env={"PYTHONPATH": f"{tmp_path / 'nopty'}:{ROOT}"})
    client = runner.client()
    client.send("exec", "test -t 0 || printf 'pipe; API key? '; read k; echo \"${#k}\"")
    assert json.loads(client.wait_for("waiting-input")) == {"is_password": True}
    client.send("input", SECRET)
    result = client.collect("finished")
    assert (result.exit_code, result.stdout) == (0, f"{len(SECRET)}\n")
    assert recorded_inputs(runner, tmp_path) == ["<redacted>"]
