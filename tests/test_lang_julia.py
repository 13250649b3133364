"""Julia: the driver's normal path on a stand-in `julia`, and every op naming Julia with 127
where it is missing.

No registry has a Julia package, so the contract runs on `tests/julia_standin.py`, which
speaks the driver's command line (`julia PROGRAM.jl`), records each call and runs the
program with /bin/sh: the programs below are sh. What is tested is the driver (finding the
runtime, `*` steps, queries as temporary programs, exit codes, interrupt, input), not Julia.
IJulia (queries in a Jupyter kernel, where one is installed) is not covered here.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunnerProcess
from tests.lang_contract import Case, LanguageContract
from tests.lang_support import events, start, write

STANDIN = Path(__file__).with_name("julia_standin.py")

JULIA = Case(
    lang="julia", commands=(), main="main.jl",
    hello='echo "hello from julia"\n', hello_out="hello from julia\n",
    failing='echo before\necho "broken on purpose" >&2\nexit 3\n', failing_exit=3,
    failing_says="broken on purpose",
    loop="echo looping\nwhile :; do sleep 1; done\n",
    echo='for i in 0 1; do printf "line %s? " "$i"; read -r l; echo "got $l"; done\n',
    once='printf "Name? "; read -r name; echo "hello $name"; exit 3\n',
)


def calls(julia: Path) -> list[dict[str, object]]:
    record = julia.parent / "calls.jsonl"
    lines = record.read_text().splitlines() if record.exists() else []
    record.unlink(missing_ok=True)
    return [json.loads(line) for line in lines]


class TestJuliaOnAStandIn(LanguageContract):
    case = JULIA

    @pytest.fixture(scope="class")
    @classmethod
    def julia(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        bin_dir = tmp_path_factory.mktemp("julia-bin")
        os.symlink(STANDIN, bin_dir / "julia")
        return bin_dir / "julia"

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, tmp_path_factory: pytest.TempPathFactory, julia: Path
               ) -> Iterator[RunnerProcess]:
        home = tmp_path_factory.mktemp("julia-home")  # no IJulia kernelspec in it
        runner = start(tmp_path_factory.mktemp("julia"), "julia", runtime=str(julia),
                       env={"HOME": str(home)})
        yield runner
        runner.stop()

    def test_the_driver_runs_julia_on_main_and_on_each_query_cell(
            self, runner: RunnerProcess, julia: Path) -> None:
        calls(julia)
        write(runner.work_dir, {"main.jl": JULIA.hello})
        client = runner.client()
        result = client.batch(clean="*", build="*", exec="*")
        assert (result.clean_exit, result.build_exit, result.exec_exit) == (0, 0, 0)
        work = str(runner.work_dir)
        assert calls(julia) == [{"argv": ["main.jl"], "cwd": work}]  # clean, build: nothing
        assert client.query(JULIA.hello).stdout == JULIA.hello_out
        [cell] = calls(julia)
        [program] = cell["argv"]  # type: ignore[misc]
        assert cell["cwd"] == work and Path(program).name == "main.jl"
        assert not Path(program).is_relative_to(work), "a query's file was left to the user"
        assert not Path(program).exists(), "a query's temporary program outlived it"

    def test_exec_without_main_says_so_with_127(self, runner: RunnerProcess) -> None:
        write(runner.work_dir, {})
        result = runner.client().batch(exec="*")
        assert result.exec_exit == 127 and "main.jl not found" in result.exec.stderr


def test_without_julia_every_op_names_it_with_127_and_an_event(tmp_path: Path) -> None:
    if shutil.which("julia"):
        pytest.skip("julia is installed here: the missing-runtime path cannot be shown")
    runner = start(tmp_path, "julia")
    write(runner.work_dir, {"main.jl": 'println("hello")\n'})
    client = runner.client()
    result = client.batch(clean="*", build="*", exec="*")
    assert (result.clean_exit, result.build_exit, result.exec_exit) == (127, 127, 127)
    assert "Julia" in result.clean.stderr and "not installed" in result.clean.stderr
    query = client.query('println("hello")')
    assert query.exit_code == 127 and "Julia" in query.stderr
    assert client.batch(exec="echo shell still works").exec_exit == 0
    runner.stop()
    missing = events(runner, "ToolchainMissing")
    assert len(missing) == 3  # clean, build and the query; the exec was skipped (failed build)
    assert all(e["lang"] == "julia" for e in missing)
