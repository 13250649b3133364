"""What the runner reads from its container: environ.txt, bootstrap.sh, the agent's command."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import uuid
import zipfile
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


# --- krunner in a reproduced kernel container on the real runner volumes --------------------

NEEDS_CONTAINER = pytest.mark.skipif(container.usable() is not None,
                                     reason=f"reproduced container: {container.usable()}")
FETCHES = pytest.mark.timeout(900)  # the first use fetches the volumes and builds the image

# What the real volumes hold (the registry's packages, read by tools/volume.py from the pin
# in each agent release's metadata): the figures of issue 18.
VOLUMES = {
    "23.9.10": {"package": "backend.ai-krunner-static-gnu 4.1.1", "python": "3.11.1",
                "pyzmq": "25.1.2", "jupyter_client": "7.4.9", "msgpack": "1.0.7"},
    "24.3.11": {"package": "backend.ai-krunner-static-gnu 4.3.0", "python": "3.12.6",
                "pyzmq": "26.2.0", "jupyter_client": "8.6.3", "msgpack": "1.1.0"},
}
# Run in the container by the volume's own Python: imports every module krunner carries and
# counts those whose bytecode could not be used (compiled in memory, as the mount is read-only).
# (The volume's own standard library lacks bytecode for a few modules, e.g. 4.3.0's pprint.)
COMPILED_IN_MEMORY = """
import importlib, importlib._bootstrap_external as b, pkgutil, sys
compiled = []
original = b.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    if "/ai/backend/" in str(path):
        compiled.append(path)
    return original(self, data, path, *args, **kwargs)
b.SourceLoader.source_to_code = counting
from ai.backend.kernel.bundled import add_bundled_paths
assert add_bundled_paths()
import machines, runner, transcripts
for pkg in (machines, runner, transcripts):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(m.name)
import ai.backend.helpers
print(len(sys.modules), "modules;", len(compiled), "compiled in memory", *compiled[:3])
"""


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Bundle]:
    """One bundle per agent line, built on first use."""
    return {}


@pytest.fixture(params=container.LINES)
def agent(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def bundle(agent: str, bundles: dict[str, Bundle],
           tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    if agent not in bundles:
        bundles[agent] = build(tmp_path_factory.mktemp(f"bundle-{agent}"), agent)
    return bundles[agent]


@FETCHES
def test_each_line_runs_on_the_real_volume_its_agent_release_pins(agent: str) -> None:
    pins, volume = container.line(agent)
    expected = VOLUMES[agent]
    assert (pins.agent, pins.kernel) == (agent, agent)
    assert (volume.package, volume.python_version) == (expected["package"], expected["python"])
    held = {name.lower().replace("-", "_"): version for name, version in volume.distributions}
    for name in ("pyzmq", "jupyter_client", "msgpack"):
        assert held[name] == expected[name]
    assert not {"aiohttp", "boto3", "yarl", "transitions", "sqlite_utils", "orjson",
                "ipykernel", "backend.ai_kernel", "krunner"} & set(held)
    assert sorted(p.name for p in (volume.site_packages / "ai" / "backend").iterdir()) == [
        "helpers", "kernel"]  # the empty mount points of the agent's bind mounts


@FETCHES
def test_the_wheels_carry_the_agent_release_and_bytecode_of_its_volumes_python(
        bundle: Bundle, agent: str, tmp_path: Path) -> None:
    from runner.core import VERSION
    assert bundle.version == f"{agent}+krunner.{VERSION}"
    tag = "cpython-" + "".join(bundle.volume.python_version.split(".")[:2])
    with zipfile.ZipFile(bundle.wheels[0]) as wheel:
        names = set(wheel.namelist())
        sources = [n for n in names if n.endswith(".py")]
        compiled = {n for n in names if n.endswith(f".{tag}.pyc")}
        assert len(compiled) == len(sources) > 200
        assert not [n for n in names if n.endswith(".pyc") and tag not in n]
        header = wheel.read(next(iter(compiled)))[:8]
    assert int.from_bytes(header[4:8], "little") == 0b11  # checked-hash, not file times
    assert json.loads((bundle.kernel / "BUILD.json").read_text())["agent"] == agent
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


@pytest.mark.parametrize(("release", "code", "reason"), [
    ("99.1.1", 1, "backend.ai-agent 99.1.1 is not a release on the package index"),
    ("22.3.3", 1, "does not pin backend.ai-kernel to one version"),
    ("22.9.20", 1, "holds Python 3.10; krunner needs 3.11 or newer"),
    ("24.3.x", 2, "'24.3.x' is not a version number"),
])
@FETCHES
def test_a_release_krunner_cannot_serve_is_refused_with_the_reason(
        release: str, code: int, reason: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tools.bundle", "--agent-version", release,
                           "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == code and reason in done.stderr, done.stderr
    assert done.stdout == "" and not (tmp_path / "out").exists()


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@NEEDS_CONTAINER
@FETCHES
def test_a_full_session_in_the_real_volume_and_its_logs_outlive_the_container(
        bundle: Bundle, agent: str, tmp_path: Path) -> None:
    """The agent's volume, mounts, command and SIGTERM; a user's work folder that holds files
    named like krunner's packages; the logs in the user's `.logs` storage folder."""
    work, storage, kernel_id = tmp_path / "work", tmp_path / "vfolder-logs", str(uuid.uuid4())
    (work / "machines").mkdir(parents=True)
    (work / "runner.py").write_text("raise SystemExit('the user file was imported')\n")
    storage.mkdir()
    box = container.launch(bundle.kernel, bundle.helpers, work, tmp_path / "config",
                           kernel_id=kernel_id, debug=True, agent=agent,
                           binds={storage: "/home/work/.logs"})
    client = AgentClient("127.0.0.1", box.input_port, box.output_port, timeout=60)
    try:
        status = client.status()
        assert "started_at" in status and status["built_for"] == f"backend.ai-agent {agent}"
        _a_session(client)
        probe = client.batch(exec="env -u PYTHONPATH /opt/backend.ai/bin/python -s -c "
                             f"'{COMPILED_IN_MEMORY}'")
        assert probe.exec_exit == 0, probe.stderr
        assert " 0 compiled in memory" in probe.stdout, probe.stdout
    finally:
        client.close()
        assert box.stop(signal.SIGTERM) == 0
    banner = next(line for line in box.stderr_text().splitlines() if "krunner 0" in line)
    assert f"krunner 0.1.0 (Backend.AI kernel runner for backend.ai-agent {agent}, volume " \
           f"{VOLUMES[agent]['package']}) on Python {VOLUMES[agent]['python']} " \
           "(/opt/backend.ai/bin/python)" in banner
    assert f"/home/work/.logs/krunner/{kernel_id}.sqlite3" in banner
    shutil.rmtree(work)  # the agent removes the container and its scratch folder
    _the_logs_outlived_it(storage, kernel_id)


def _a_session(client: AgentClient) -> None:
    """Status, a query, input, drawing, install(), batch and a healthy model service."""
    assert client.query("import os; print(os.getcwd(), 6 * 7)").stdout == "/home/work 42\n"
    asked = client.query("name = input('who? ')\nprint('hello', name)", inputs=["krunner"])
    assert asked.stdout.endswith("hello krunner\n") and len(asked.waiting_inputs) == 1
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


def _the_logs_outlived_it(storage: Path, kernel_id: str) -> None:
    """The durable log, its transcript and the task log, read after the container is gone."""
    [transcript] = (storage / "krunner").glob(f"{kernel_id}.*.jsonl")
    replay = subprocess.run([sys.executable, "-m", "tools.replay", "offline", "--transcript",
                             str(transcript)], cwd=ROOT, capture_output=True, text=True)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    health = subprocess.run([sys.executable, "-m", "tools.inspect", "--log",
                             str(storage / "krunner" / f"{kernel_id}.sqlite3"), "health",
                             "--format", "json"], cwd=ROOT, capture_output=True, text=True)
    assert health.returncode == 0 and "llm" in health.stdout, health.stderr
    h = uuid.UUID(kernel_id).hex
    task_log = (storage / "task" / h[0:2] / h[2:4] / f"{h[4:]}.log").read_text().splitlines()
    assert task_log[0] == "building" and set(task_log[1:3]) == {"/home/work", "oops"}
    assert "hello krunner" not in task_log  # queries are not tasks


@FETCHES
def test_an_agent_host_installs_krunner_in_place_of_the_original_and_rolls_back(
        bundle: Bundle, agent: str, tmp_path: Path) -> None:
    """The operator's guide, step by step, in a venv standing in for the agent's."""
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "agent")], check=True)
    pip = [str(tmp_path / "agent" / "bin" / "python"), "-m", "pip", "install", "-q",
           "--no-deps", "--disable-pip-version-check", "--ignore-requires-python"]
    originals = [f"backend.ai-kernel=={agent}", f"backend.ai-kernel-helper=={agent}"]
    subprocess.run([*pip, *originals], check=True)
    subprocess.run([*pip, "--force-reinstall", *map(str, bundle.wheels)], check=True)
    site = container.site_packages(tmp_path / "agent" / "bin" / "python")
    mounted = site / "ai" / "backend" / "kernel"  # what the agent bind-mounts
    assert (mounted / "VERSION").read_text().strip() == bundle.version
    assert (mounted / "_krunner" / "runner" / "core.py").is_file()
    assert _files(site / "ai" / "backend" / "helpers") == _files(bundle.helpers)

    kept = subprocess.run([*pip, *originals], capture_output=True, text=True)
    assert kept.returncode == 0 and (mounted / "_krunner").is_dir()  # ==<release> is satisfied
    subprocess.run([*pip, "--force-reinstall", *originals], check=True)
    assert not (mounted / "_krunner").exists() and (mounted / "base.py").is_file()
