"""Julia has no Debian package: where it is missing, every op says so with 127 and an event.

With Julia (and IJulia) installed the driver runs `julia main.jl` and queries through IJulia;
that path could not be tested on the machines this was built on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.lang_support import events, start, write


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
