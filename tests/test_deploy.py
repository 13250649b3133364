"""Logs that outlive the container: the runner writes into the user's `.logs` folder (or the
folder `KRUNNER_LOG_DIR` names), one file per kernel id, and leaves a transcript of the session
beside it when the agent stops it; the support engineer replays and inspects that."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from runner.build_info import SOURCE_LINE
from tools.launch import ROOT, RunnerProcess, start_runner
from transcripts.location import choose_log_place


def stop_like_the_agent(runner: RunnerProcess) -> int:
    """Docker's StopSignal for kernel containers is SIGINT (PROTOCOL §1.1)."""
    runner.proc.send_signal(signal.SIGINT)
    try:
        return runner.proc.wait(30)
    finally:
        runner.stop()


def tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def drive_a_session(runner: RunnerProcess) -> None:
    client = runner.client()
    status = client.status()  # a source checkout: no bundle's BUILD.json names an agent release
    assert "started_at" in status and status["built_for"] == SOURCE_LINE
    assert client.query("print(6 * 7)").stdout == "42\n"
    assert client.batch(exec="echo from batch").stdout == "from batch\n"


def test_the_log_lands_in_the_users_logs_folder_and_its_transcript_outlives_the_work_folder(
        tmp_path: Path) -> None:
    storage = tmp_path / "vfolder-.logs"  # the user's storage folder, mounted as .logs
    storage.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / ".logs").symlink_to(storage)
    kernel_id = str(uuid.uuid4())
    runner = start_runner(tmp_path, "python", "--work-dir", str(work), log=False,
                          env={"BACKENDAI_KERNEL_ID": kernel_id})
    drive_a_session(runner)
    assert stop_like_the_agent(runner) == 0

    first = next(line for line in runner.stderr_text().splitlines() if "krunner" in line)
    assert f"krunner 0.1.0 (Backend.AI kernel runner for {SOURCE_LINE})" in first
    assert f"{storage / 'krunner' / kernel_id}.sqlite3" in first.replace(str(work / ".logs"),
                                                                         str(storage))
    shutil.rmtree(work)  # the agent deletes the container's scratch folder
    log = storage / "krunner" / f"{kernel_id}.sqlite3"
    [transcript] = (storage / "krunner").glob(f"{kernel_id}.*.jsonl")
    assert log.is_file() and not list(storage.rglob("*.partial"))

    replay = tool("tools.replay", "offline", "--transcript", str(transcript))
    assert replay.returncode == 0, replay.stdout + replay.stderr
    imported = tmp_path / "support.sqlite3"
    assert tool("tools.transcript", "import", str(transcript), "--log",
                str(imported)).returncode == 0
    header = json.loads(transcript.read_text().splitlines()[0])["session"]
    assert (header["kernel_id"], header["runner_version"]) == (kernel_id, "0.1.0")
    for source in (log, imported):
        listed = tool("tools.inspect", "--log", str(source), "sessions", "--format", "json")
        assert listed.returncode == 0, listed.stderr
        [session] = json.loads(listed.stdout)
        assert session["session"] == header["id"] and session["ended"] is not None
    timeline = tool("tools.inspect", "--log", str(imported), "timeline", "--format", "json")
    final = {row["source"]: row["to_state"] for row in json.loads(timeline.stdout)}
    assert final["run:1"] == final["run:2"] == "finished"


def test_krunner_log_dir_from_environ_txt_names_the_durable_folder(tmp_path: Path) -> None:
    durable = tmp_path / "node-logs"
    kernel_id = "k-" + uuid.uuid4().hex
    runner = start_runner(tmp_path, "python", log=False, env={"BACKENDAI_KERNEL_ID": kernel_id},
                          files={"config/environ.txt": f"KRUNNER_LOG_DIR={durable}\n"})
    assert "started_at" in runner.client().status()
    assert stop_like_the_agent(runner) == 0
    assert (durable / f"{kernel_id}.sqlite3").is_file()
    [transcript] = durable.glob(f"{kernel_id}.*.jsonl")
    header = json.loads(transcript.read_text().splitlines()[0])
    assert header["session"]["kernel_id"] == kernel_id


def test_without_a_durable_folder_the_log_stays_local_and_nothing_is_exported(
        tmp_path: Path) -> None:
    state = tmp_path / "xdg-state"
    runner = start_runner(tmp_path, "python", log=False,
                          env={"XDG_STATE_HOME": str(state), "BACKENDAI_KERNEL_ID": "k1"})
    assert "started_at" in runner.client().status()
    assert stop_like_the_agent(runner) == 0
    assert (state / "krunner" / "events.sqlite3").is_file()
    assert not list(tmp_path.rglob("*.jsonl"))


@pytest.mark.parametrize(("flag", "env", "logs_dir", "expected", "durable"), [
    ("f.db", {"KRUNNER_LOG": "e.db", "KRUNNER_LOG_DIR": "d"}, True, "f.db", False),
    (None, {"KRUNNER_LOG": "e.db", "KRUNNER_LOG_DIR": "d"}, True, "e.db", False),
    (None, {"KRUNNER_LOG_DIR": "d", "BACKENDAI_KERNEL_ID": "k/1"}, True, "d/k_1.sqlite3", True),
    (None, {"BACKENDAI_KERNEL_ID": "k1"}, True, "WORK/.logs/krunner/k1.sqlite3", True),
    (None, {"XDG_STATE_HOME": "x"}, False, None, False),
])
def test_the_order_in_which_the_logs_place_is_chosen(
        tmp_path: Path, flag: str | None, env: dict[str, str], logs_dir: bool,
        expected: str | None, durable: bool) -> None:
    if logs_dir:
        (tmp_path / ".logs").mkdir()
    place = choose_log_place(flag, env, tmp_path)
    assert place.durable is durable
    if expected is not None:
        assert str(place.path) == expected.replace("WORK", str(tmp_path))


def without_orjson(code: str) -> str:
    """Run `code` in a Python where `import orjson` fails, as in the container; its stdout."""
    done = subprocess.run([sys.executable, "-c", "import sys; sys.modules['orjson'] = None\n"
                           + code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_without_orjson_the_log_encodes_and_decodes_the_same() -> None:
    """The container's Python has no orjson: the standard library stands in, same text."""
    data = {"a": [1, 2.5, None, True], "b": {"é": b"\xff"}, 3: (4,)}
    slow = without_orjson("from transcripts import fastjson, reader\n"
                          "assert not fastjson.FAST\n"
                          f"text = reader.encode({data!r})\n"
                          "print(text)\n"
                          "print(reader.decode(text))\n")
    from transcripts import fastjson, reader
    assert fastjson.FAST
    text, decoded = slow.splitlines()
    assert text == reader.encode(data)
    assert decoded == repr({"a": [1, 2.5, None, True], "b": {"é": b"\xff"}, "3": [4]})


def test_every_module_the_bundle_carries_imports_without_orjson() -> None:
    """orjson is binary and not in the container's Python; a module that needs it would stop
    krunner from starting there (the reproduced-container test shows it, as root)."""
    without_orjson("import importlib, pkgutil\n"
                   "import machines, runner, transcripts\n"
                   "for pkg in (machines, runner, transcripts):\n"
                   "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
                   "        importlib.import_module(m.name)\n")


def test_an_unusable_durable_folder_falls_back_to_the_local_log_and_says_why(
        tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / ".logs").mkdir(parents=True)
    (work / ".logs" / "krunner").write_text("a file where the folder should be")
    state = tmp_path / "xdg-state"
    runner = start_runner(tmp_path, "python", "--work-dir", str(work), log=False,
                          env={"XDG_STATE_HOME": str(state), "BACKENDAI_KERNEL_ID": "k2"})
    assert "started_at" in runner.client().status()
    assert stop_like_the_agent(runner) == 0
    assert (state / "krunner" / "events.sqlite3").is_file()
    assert f"{work / '.logs' / 'krunner'} (the {work / '.logs'} folder) is unusable" in \
        runner.stderr_text()
    assert "DEGRADED" not in runner.stderr_text()


# --- the task log the manager serves (PROTOCOL §1.4, §5.1) -----------------------------------

def task_log_of(work: Path, kernel_id: str) -> Path:
    h = uuid.UUID(kernel_id).hex
    return work / ".logs" / "task" / h[0:2] / h[2:4] / f"{h[4:]}.log"


def test_batch_output_of_both_streams_is_appended_to_the_task_log_the_manager_serves(
        tmp_path: Path) -> None:
    kernel_id = str(uuid.uuid4())
    runner = start_runner(tmp_path, "python", env={"BACKENDAI_KERNEL_ID": kernel_id})
    path = task_log_of(runner.work_dir, kernel_id)  # its .logs folder made while it runs
    path.parent.mkdir(parents=True)
    path.write_bytes(b"from an earlier session\n")
    try:
        client = runner.client()
        first = client.batch(build="echo built; echo build-warning >&2",
                             exec="echo out-1; echo err-1 >&2; exit 4")
        assert (first.build_exit, first.exec_exit) == (0, 4)
        big = client.batch(exec="python3 -c \"import sys; sys.stdout.write('x' * 300000)\"")
        assert big.exec_exit == 0 and len(big.stdout) == 300000
        assert client.query("print('query output is not a task')").exit_code == 0
    finally:
        assert stop_like_the_agent(runner) == 0
    text = path.read_text()
    assert text.startswith("from an earlier session\n")  # appended, never truncated
    lines = text.splitlines()
    for line in ("built", "build-warning", "out-1", "err-1"):
        assert line in lines
    assert lines.index("built") < lines.index("out-1")  # steps in order
    assert text.count("x") == 300000 and "query output" not in text


def test_without_a_logs_folder_or_with_a_bad_kernel_id_there_is_no_task_log(
        tmp_path: Path) -> None:
    plain = start_runner(tmp_path, "python", env={"BACKENDAI_KERNEL_ID": str(uuid.uuid4())})
    odd = start_runner(tmp_path, "python", env={"BACKENDAI_KERNEL_ID": "not-a-uuid"})
    (odd.work_dir / ".logs").mkdir()
    try:
        for runner in (plain, odd):
            assert runner.client().batch(exec="echo hi").stdout == "hi\n"
    finally:
        assert stop_like_the_agent(plain) == 0 and stop_like_the_agent(odd) == 0
    assert not (plain.work_dir / ".logs").exists()
    assert not (odd.work_dir / ".logs" / "task").exists()
    assert "no task log: BACKENDAI_KERNEL_ID 'not-a-uuid' is not a UUID" in odd.stderr_text()
