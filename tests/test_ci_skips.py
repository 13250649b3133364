"""On CI (`CI=true`) a test that skips for a missing tool fails the run; elsewhere it skips.

Each case runs pytest in a subprocess with this suite's own conftest and a PATH that lacks
the tool, as CI and as a developer's machine. Nothing here may skip: these tests need no tool.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

NEEDS_A_TOOL = '''
from tests.lang_support import need

def test_needs_the_compiler():
    need("gcc")
'''

NEEDS_A_MODULE = '''
import pytest

pytest.importorskip("krunner_no_such_module", reason="needs krunner_no_such_module")

def test_never_collected():
    pass
'''

WITH_CONFTEST = ("-p", "tests.conftest")  # a file outside tests/ gets the suite's hooks so


def pytest_run(tmp_path: Path, ci: bool, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest on `args` with a PATH that has no gcc, as CI (`CI=true`) or not (CI unset)."""
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PATH"] = str(empty_bin)
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(ROOT), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci", [True, False], ids=["ci", "developer"])
def test_a_missing_tool_fails_on_ci_and_skips_elsewhere(tmp_path: Path, ci: bool) -> None:
    (tmp_path / "test_tool.py").write_text(NEEDS_A_TOOL)
    done = pytest_run(tmp_path, ci, *WITH_CONFTEST, str(tmp_path / "test_tool.py"))
    out = done.stdout + done.stderr
    if ci:
        assert done.returncode == 1, out
        assert "1 failed" in out and "gcc is not installed" in out and "CI=true" in out
    else:
        assert done.returncode == 0, out
        assert "1 skipped" in out and "failed" not in out


@pytest.mark.parametrize("ci", [True, False], ids=["ci", "developer"])
def test_a_module_skipped_at_collection_fails_on_ci(tmp_path: Path, ci: bool) -> None:
    (tmp_path / "test_module.py").write_text(NEEDS_A_MODULE)
    done = pytest_run(tmp_path, ci, *WITH_CONFTEST, str(tmp_path / "test_module.py"))
    out = done.stdout + done.stderr
    if ci:
        assert done.returncode != 0, out
        assert "needs krunner_no_such_module" in out and "CI=true" in out
    else:
        assert done.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, out
        assert "1 skipped" in out and "failed" not in out


def test_a_suite_test_that_needs_gcc_fails_on_ci_without_it(tmp_path: Path) -> None:
    test = "tests/test_lang_c.py::test_c_is_compiled_as_c_even_with_g_plus_plus_as_runtime"
    done = pytest_run(tmp_path, True, test)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "gcc is not installed" in out and "CI=true" in out
