"""Input for any program that reads its stdin: how it waits does not matter, passwords stay out
of the log, an interrupt while waiting ends it, and a pipe of its own is not the agent's."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import RunnerProcess, gone
from tests.lang_support import session_pids, until_input

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


def test_an_input_sent_early_waits_for_the_next_read(runner: RunnerProcess) -> None:
    client = runner.client()
    client.send("exec", "sleep 0.3; read a; echo \"got $a\"")
    client.send("input", "early")
    result = client.collect("finished")
    assert result.exit_code == 0
    assert result.stdout == "got early\n"
    assert result.waiting_inputs == []
