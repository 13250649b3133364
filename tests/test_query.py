"""Query mode: the agent sends `code`, a real ipykernel runs it, the agent sees its output."""

from __future__ import annotations

import json
import sqlite3
import time

from tests.conftest import RunnerProcess


def test_state_is_kept_between_queries(runner: RunnerProcess) -> None:
    client = runner.client()
    assert client.query("x = 20").exit_code == 0
    result = client.query("print(x + 22)")
    assert result.exit_code == 0
    assert result.stdout == "42\n"


def test_a_cell_that_raises_ends_non_zero_with_its_traceback(runner: RunnerProcess) -> None:
    result = runner.client().query("1 / 0")
    assert result.exit_code == 1
    assert "ZeroDivisionError" in result.stderr


def test_input_and_password_reach_the_agent_and_the_password_stays_out_of_the_log(
        runner: RunnerProcess) -> None:
    client = runner.client()
    code = ("name = input('who? ')\nimport getpass\nsecret = getpass.getpass('pw: ')\n"
            "print(name, len(secret))")
    result = client.query(code, inputs=["ada", "hunter2-Sw0rdfish"])
    assert result.exit_code == 0
    assert result.waiting_inputs == [{"is_password": False}, {"is_password": True}]
    assert "ada 17" in result.stdout
    runner.stop()
    raw = runner.log_path.read_bytes() + _wal_bytes(runner)
    assert b"hunter2-Sw0rdfish" not in raw
    assert b"ada" in raw


def _wal_bytes(runner: RunnerProcess) -> bytes:
    wal = runner.log_path.with_name(runner.log_path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_interrupt_ends_a_long_query_and_the_kernel_keeps_its_state(
        runner: RunnerProcess) -> None:
    client = runner.client()
    client.query("kept = 7")
    client.send("code", "import time\nprint('start', flush=True)\ntime.sleep(60)")
    client.wait_for("stdout", timeout=30)
    client.interrupt()
    finished = json.loads(client.wait_for("finished", timeout=15))
    assert finished["exitCode"] != 0
    assert client.query("print(kept)").stdout == "7\n"


def test_images_go_as_media_json_and_html_as_html(runner: RunnerProcess) -> None:
    client = runner.client()
    png = ("from IPython.display import Image, HTML, display\nimport base64\n"
           "display(Image(data=base64.b64decode("
           "'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==')))\n"
           "display(HTML('<b>bold</b>'))")
    result = client.query(png)
    assert result.exit_code == 0
    assert [m["type"] for m in result.media] == ["image/png"]
    assert result.media[0]["data"].startswith("data:image/png;base64,iVBOR")
    assert result.html == ["<b>bold</b>"]


def test_completion_answers_with_the_kernels_suggestions(runner: RunnerProcess) -> None:
    client = runner.client()
    client.query("import os\nmy_variable_for_completion = 1")
    assert "my_variable_for_completion" in client.complete("my_variable_for")
    assert "os.path" in client.complete("os.pa")


def test_status_is_answered_during_a_long_query(runner: RunnerProcess) -> None:
    client = runner.client()
    client.send("code", "import time\nprint('go', flush=True)\ntime.sleep(3)")
    client.wait_for("stdout", timeout=30)
    began = time.monotonic()
    status = client.status()
    assert "started_at" in status
    assert time.monotonic() - began < 1.0
    json.loads(client.wait_for("finished", timeout=30))


def test_a_dead_kernel_is_restarted_and_the_run_says_so(runner: RunnerProcess) -> None:
    client = runner.client()
    result = client.query("import os\nos._exit(3)")
    assert result.exit_code != 0
    assert "died" in result.stderr
    assert client.query("print('back')").stdout == "back\n"
    runner.stop()
    db = sqlite3.connect(runner.log_path)
    states = [r[0] for r in db.execute(
        "SELECT to_state FROM events WHERE source='kernel' AND kind='transition' ORDER BY seq")]
    assert "restarting" in states
    assert states[states.index("restarting") + 1] == "ready"


def test_interrupt_while_waiting_for_input_ends_the_run_and_the_next_one_works(
        runner: RunnerProcess) -> None:
    client = runner.client()
    client.send("code", "answer = input('never answered: ')")
    client.wait_for("waiting-input", timeout=30)
    client.interrupt()
    finished = json.loads(client.wait_for("finished", timeout=15))
    assert finished["exitCode"] != 0
    assert client.query("print('next')").stdout == "next\n"
