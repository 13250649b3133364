"""A query is never lost to a dead kernel: sent right after the kernel died (before the runner
noticed), it waits for the restart and runs; if the restart fails it is refused with the
reason. A query the kernel had begun is not run a second time. Real ipykernel, real signals.
"""

from __future__ import annotations

import os
import signal
import time

from tests.conftest import gone
from tests.service_helpers import log_rows, wait_rows


def _pid_of_kernel(client) -> int:
    return int(client.query("import os; print(os.getpid())", timeout=120).stdout)


def test_a_query_sent_right_after_the_kernel_died_runs_after_the_restart(runner) -> None:
    client = runner.client()
    for round_ in range(3):
        pid = _pid_of_kernel(client)
        os.kill(pid, signal.SIGKILL)
        result = client.query(f"print('after {round_}')", timeout=120)  # at once
        assert (result.exit_code, result.stdout) == (0, f"after {round_}\n"), result.stderr
        assert gone(pid)
    restarts = log_rows(runner.log_path, "SELECT 1 FROM events WHERE source = 'kernel' "
                                         "AND to_state = 'restarting'")
    assert len(restarts) == 3


def test_a_query_is_refused_with_the_reason_when_the_restart_fails(runner) -> None:
    client = runner.client()
    pid = _pid_of_kernel(client)
    runner.work_dir.rename(runner.work_dir.with_name("moved"))  # the kernel cannot start there
    os.kill(pid, signal.SIGKILL)
    result = client.query("print('never')", timeout=120)
    assert result.exit_code == 127
    assert "query mode is unavailable: the Jupyter kernel could not be restarted" in \
        result.stderr
    assert "never" not in result.stdout
    wait_rows(runner.log_path, "SELECT 1 FROM events WHERE source = 'kernel' "
                               "AND from_state = 'restarting' AND to_state = 'failed'")


def test_a_query_the_kernel_had_begun_is_not_run_again(runner) -> None:
    client = runner.client()
    marker = runner.home / "ran"
    code = (f"open({str(marker)!r}, 'a').write('x')\n"
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    result = client.query(code, timeout=120)
    assert result.exit_code == 1
    assert "died" in result.stderr
    deadline = time.monotonic() + 60
    while client.query("print(1)", timeout=120).stdout != "1\n":
        assert time.monotonic() < deadline
    assert marker.read_text() == "x"  # once
