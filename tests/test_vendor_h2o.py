"""`vendor.h2o`: query and batch mode on a separate Python standing in for H2O's own."""

from __future__ import annotations

import json
import re
import site
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunnerProcess
from tests.service_helpers import log_rows


def _python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def _local_indexes() -> list[str]:
    """The package indexes on this machine (`file://`) that pip's configuration names."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                            capture_output=True, text=True).stdout
    return re.findall(r"file://[^\s'\"]+", listed)


def _install_offline(python: Path, package: str) -> bool:
    """Install from the local indexes only: no network, a few seconds."""
    indexes = [url for url in _local_indexes() if Path(url.removeprefix("file://")).is_dir()]
    if not indexes:
        return False
    extra = [arg for url in indexes[1:] for arg in ("--extra-index-url", url)]
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "-q", "--index-url", indexes[0], *extra, package],
                          capture_output=True, timeout=300)
    return done.returncode == 0


@pytest.fixture(scope="session")
def h2o_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAI folder laid out as in the H2O image: `dai/python` (a venv with ipykernel, from
    the local package index) and `dai/run-dai.sh`, which leaves a mark when it runs."""
    dai = tmp_path_factory.mktemp("h2oai") / "dai"
    venv = dai / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = _python_of(venv)
    if not _install_offline(python, "ipykernel"):  # lend it the runner's packages instead
        purelib = Path(site.getsitepackages()[0])
        (next(venv.glob("lib/python*/site-packages")) / "krunner-test.pth").write_text(
            f"{purelib}\n")
    script = dai / "run-dai.sh"
    script.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/dai-started"\n')
    script.chmod(0o755)
    return python


def test_queries_run_on_h2os_python_and_keep_state(
        runner_factory: Callable[..., RunnerProcess], h2o_python: Path) -> None:
    runner = runner_factory("vendor.h2o", runtime=str(h2o_python))
    client = runner.client(timeout=120)
    result = client.query("import sys; x = 41; print(sys.executable); print(sys.prefix)")
    assert result.exit_code == 0, result.stderr
    executable, prefix = result.stdout.splitlines()
    assert executable == str(h2o_python)
    assert prefix == str(h2o_python.parent.parent) != sys.prefix
    assert client.query("print(x + 1)").stdout == "42\n"
    assert (h2o_python.parents[2] / "dai-started").exists()
    runner.stop()
    ((daemon,),) = log_rows(runner.log_path,
                            "SELECT data FROM events WHERE name = 'H2oDaemonStarted'")
    ((pid,),) = log_rows(runner.log_path, "SELECT json_extract(data, '$.kernel_pid') "
                                          "FROM events WHERE name = 'DriverReady'")
    assert json.loads(daemon)["exit_code"] == 0
    assert pid


def test_batch_star_runs_main_py_on_h2os_python(
        runner_factory: Callable[..., RunnerProcess], h2o_python: Path) -> None:
    runner = runner_factory("vendor.h2o", runtime=str(h2o_python),
                            files={"work/main.py": "import sys\nprint(sys.executable)\n"})
    result = runner.client(timeout=120).batch(clean="*", build="*", exec="*")
    assert (result.clean_exit, result.build_exit, result.exec_exit) == (0, 0, 0)
    assert result.exec.stdout == f"{h2o_python}\n"


def test_a_missing_h2o_python_is_named_with_127_and_never_replaced(
        runner_factory: Callable[..., RunnerProcess], tmp_path: Path) -> None:
    absent = tmp_path / "opt" / "h2oai" / "dai" / "python" / "bin" / "python"
    runner = runner_factory("vendor.h2o", runtime=str(absent),
                            files={"work/main.py": "print('must not run')\n"})
    client = runner.client(timeout=60)
    query = client.query("print(1)")
    assert query.exit_code == 127
    assert str(absent) in query.stderr and "not there" in query.stderr
    batch = client.batch(exec="*")
    assert batch.exec_exit == 127
    assert str(absent) in batch.exec.stderr and "must not run" not in batch.exec.stdout
    runner.stop()
    rows = log_rows(runner.log_path, "SELECT data FROM events WHERE name = 'RuntimeMissing'")
    assert [json.loads(d)["missing"] for (d,) in rows] == [str(absent)]


def test_an_h2o_python_without_ipykernel_says_what_to_install(
        runner_factory: Callable[..., RunnerProcess], tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    runner = runner_factory("vendor.h2o", runtime=str(_python_of(venv)))
    query = runner.client(timeout=60).query("print(1)")
    assert query.exit_code == 127
    assert "has no ipykernel" in query.stderr and "pip install ipykernel" in query.stderr
