"""What the runner reads from its container: environ.txt, bootstrap.sh, the agent's command."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port
from tools import container
from tools.bundle import Bundle, build
from tools.client import AgentClient
from tools.launch import ROOT, start_runner


def test_environ_txt_reaches_children_and_bootstrap_runs_first(tmp_path: Path) -> None:
    runner = start_runner(tmp_path, "python", files={
        "config/environ.txt": "GREETING=hello=world\nBADLINE\nOTHER=2\n",
        "work/bootstrap.sh": "echo booted > booted.txt\n",
    })
    try:
        result = runner.client().batch(exec='echo "$GREETING $OTHER"; cat booted.txt')
        assert result.exec_exit == 0
        assert result.stdout == "hello=world 2\nbooted\n"
    finally:
        assert runner.stop() == 0
    assert "lines without '='" in runner.stderr_text()


def test_the_agents_unchanged_command_starts_krunner(tmp_path: Path) -> None:
    runner = start_runner(tmp_path, "python", module="ai.backend.kernel")
    try:
        client = runner.client()
        assert "started_at" in client.status()
        assert client.query("print('compatible')").stdout == "compatible\n"
        client.send("complete", json.dumps({"code": "pri"}))
        assert "print" in json.loads(client.wait_for("completion"))["suggestions"]
    finally:
        assert runner.stop() == 0


def test_ports_come_from_intrinsic_ports_json(tmp_path: Path) -> None:
    replin, replout = free_port(), free_port()
    runner = start_runner(tmp_path, "python", pick_ports=False, files={
        "config/intrinsic-ports.json": json.dumps({"replin": replin, "replout": replout}),
    })
    try:
        assert (runner.input_port, runner.output_port) == (replin, replout)
        assert "started_at" in runner.client().status()
    finally:
        assert runner.stop() == 0


def test_status_is_answered_at_once_and_an_early_query_waits_for_the_kernel(
        tmp_path: Path) -> None:
    runner = start_runner(tmp_path, "python")
    try:
        client = runner.client()
        client.send("status", b"")
        client.send("code", b"print('ran after the kernel came up')")
        assert client.recv(timeout=30)[0] == "status"
        result = client.collect("finished")
        assert (result.exit_code, result.stdout) == (0, "ran after the kernel came up\n")
    finally:
        assert runner.stop() == 0
    db = sqlite3.connect(runner.log_path)
    try:
        seq = dict(db.execute(
            "SELECT CASE WHEN kind = 'output' THEN 'status reply' ELSE name END, min(seq) "
            "FROM events WHERE (kind = 'output' AND name = 'status') OR name = 'DriverReady' "
            "OR (kind = 'input' AND name = 'code') GROUP BY 1"))
    finally:
        db.close()
    assert seq["status reply"] < seq["DriverReady"]  # answered while the kernel was starting
    assert seq["code"] < seq["DriverReady"]  # and the query arrived before it was ready


def test_unusable_folders_are_explained_and_the_runner_keeps_serving(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    runner = start_runner(tmp_path, "python", "--state-dir", str(blocker / "state"),
                          "--work-dir", str(tmp_path / "missing"))
    try:
        client = runner.client()
        assert "started_at" in client.status()
        query = client.query("print('x')")
        assert query.exit_code == 127 and "query mode is unavailable" in query.stderr
        batch = client.batch(exec="echo never")
        assert batch.exec_exit == -1
        assert "could not run" in batch.stderr and "missing" in batch.stderr
    finally:
        assert runner.stop() == 0
    assert "state folder" in runner.stderr_text() and "unusable" in runner.stderr_text()


# --- krunner in a reproduced kernel container (tools/container.py) ----------------------------

NEEDS_CONTAINER = pytest.mark.skipif(container.usable() is not None,
                                     reason=f"reproduced container: {container.usable()}")
BUILDS_PYTHONS = pytest.mark.timeout(900)  # the first use builds the container's Pythons


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return build(tmp_path_factory.mktemp("bundle"))


@NEEDS_CONTAINER
@BUILDS_PYTHONS
def test_the_volume_has_only_the_originals_dependencies(tmp_path: Path) -> None:
    probe = ("import importlib.util as u\n"
             "names = ['zmq', 'msgpack', 'jupyter_client', 'aiohttp', 'boto3', 'janus',\n"
             "         'transitions', 'sqlite_utils', 'orjson', 'ipykernel', 'runner',\n"
             "         'ai.backend.kernel.__main__', 'ai.backend.helpers.package']\n"
             "print(' '.join(n for n in names if u.find_spec(n) is not None))\n")
    found = subprocess.run([str(container.volume_python()), "-s", "-c", probe], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.split()
    assert found == ["zmq", "msgpack", "jupyter_client", "aiohttp", "boto3", "janus"]


def test_the_wheels_install_exactly_the_folders_the_agent_mounts(
        bundle: Bundle, tmp_path: Path) -> None:
    from runner.core import VERSION
    assert bundle.version == f"23.9.10+krunner.{VERSION}"
    host = tmp_path / "agent-host-site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--no-compile", "--target", str(host), *map(str, bundle.wheels)],
                   check=True)
    for folder in (bundle.kernel, bundle.helpers):
        installed = host / folder.relative_to(bundle.site_packages)
        assert _files(installed) == _files(folder)
        assert (installed / "VERSION").read_text().strip() == bundle.version
    metadata = next(host.glob("backend.ai_kernel-*.dist-info")) / "METADATA"
    assert f"Version: {bundle.version}" in metadata.read_text()
    assert not list(bundle.kernel.rglob("*.so")), "the mounted folder must be pure Python"


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@NEEDS_CONTAINER
@BUILDS_PYTHONS
def test_a_session_in_a_reproduced_container_and_its_log_outlives_it(
        bundle: Bundle, tmp_path: Path) -> None:
    """The agent's mounts, command and stop signal; a user's work folder that holds files named
    like krunner's packages; the log in the user's `.logs` storage folder."""
    work, storage, kernel_id = tmp_path / "work", tmp_path / "vfolder-logs", str(uuid.uuid4())
    (work / "machines").mkdir(parents=True)
    (work / "runner.py").write_text("raise SystemExit('the user file was imported')\n")
    storage.mkdir()
    box = container.launch(bundle.kernel, bundle.helpers, work, tmp_path / "config",
                           kernel_id=kernel_id, debug=True,
                           binds={storage: "/home/work/.logs"})
    client = AgentClient("127.0.0.1", box.input_port, box.output_port, timeout=60)
    try:
        assert "started_at" in client.status()
        assert client.query("import os; print(os.getcwd(), 6 * 7)").stdout == "/home/work 42\n"
        extras = client.query("from ai.backend.kernel.python.drawing import Canvas\n"
                              "Canvas(10, 10).update()\n"
                              "from ai.backend.helpers import install\ninstall('ipykernel')")
        assert [m["type"] for m in extras.media] == ["application/x-sorna-drawing"]
        assert extras.stdout.startswith("'ipykernel' is already installed (version: ")
        batch = client.batch(build="echo building", exec="echo $HOME; echo oops >&2; exit 3")
        assert (batch.build_exit, batch.exec_exit) == (0, 3)
        assert (batch.stdout, batch.stderr) == ("building\n/home/work\n", "oops\n")
        port = free_port()
        reply = client.start_model_service({
            "name": "llm", "model_path": "/home/work",
            "service": {"start_command": [str(container.image_python()), "-m", "http.server",
                                          "--bind", "127.0.0.1", str(port)],
                        "port": port, "health_check": {"path": "/", "max_retries": 5}}})
        assert reply == {"status": "started"}
        health = json.loads(client.wait_for("model-service-status", timeout=30))
        assert health == {"model_name": "llm", "is_healthy": True}
    finally:
        client.close()
        assert box.stop() == 0  # SIGINT, as Docker stops kernel containers
    banner = next(line for line in box.stderr_text().splitlines() if "krunner 0" in line)
    assert "krunner 0.1.0" in banner and str(container.volume_python()) in banner
    assert f"/home/work/.logs/krunner/{kernel_id}.sqlite3" in banner
    shutil.rmtree(work)  # the agent removes the container and its scratch folder
    [transcript] = (storage / "krunner").glob(f"{kernel_id}.*.jsonl")
    replay = subprocess.run([sys.executable, "-m", "tools.replay", "offline", "--transcript",
                             str(transcript)], cwd=ROOT, capture_output=True, text=True)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    health = subprocess.run([sys.executable, "-m", "tools.inspect", "--log",
                             str(storage / "krunner" / f"{kernel_id}.sqlite3"), "health",
                             "--format", "json"], cwd=ROOT, capture_output=True, text=True)
    assert health.returncode == 0 and "llm" in health.stdout, health.stderr


@BUILDS_PYTHONS
def test_an_agent_host_installs_krunner_in_place_of_the_original_and_rolls_back(
        bundle: Bundle, tmp_path: Path) -> None:
    """The operator's guide, step by step, in a venv standing in for the agent's."""
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "agent")], check=True)
    pip = [str(tmp_path / "agent" / "bin" / "python"), "-m", "pip", "install", "-q",
           "--no-deps", "--disable-pip-version-check"]
    subprocess.run([*pip, *container.ORIGINALS], check=True)
    subprocess.run([*pip, "--force-reinstall", *map(str, bundle.wheels)], check=True)
    site = container.site_packages(tmp_path / "agent" / "bin" / "python")
    mounted = site / "ai" / "backend" / "kernel"  # what the agent bind-mounts
    assert (mounted / "VERSION").read_text().strip() == bundle.version
    assert (mounted / "_krunner" / "runner" / "core.py").is_file()
    assert _files(site / "ai" / "backend" / "helpers") == _files(bundle.helpers)

    kept = subprocess.run([*pip, *container.ORIGINALS], capture_output=True, text=True)
    assert kept.returncode == 0 and (mounted / "_krunner").is_dir()  # ==23.9.10 is satisfied
    subprocess.run([*pip, "--force-reinstall", *container.ORIGINALS], check=True)
    assert (mounted / "VERSION").read_text().strip() == "23.09.10"  # the original's spelling
    assert not (mounted / "_krunner").exists() and (mounted / "base.py").is_file()
