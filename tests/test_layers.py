"""Imports run one way: the import-linter contracts hold, and they would catch a break."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
NEEDS_LINTER = pytest.mark.skipif(LINT is None, reason="needs lint-imports (import-linter)")


def _lint(folder: Path) -> subprocess.CompletedProcess[str]:
    assert LINT is not None
    return subprocess.run([LINT, "--no-cache", str(ROOT / "pyproject.toml")], cwd=folder,
                          env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


@NEEDS_LINTER
def test_the_project_keeps_its_layers() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@NEEDS_LINTER
def test_a_machine_that_imports_the_log_breaks_the_contracts(tmp_path: Path) -> None:
    for package in ("machines", "transcripts", "runner", "tools"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "transcripts" / "store.py").write_text("import machines\n")
    (tmp_path / "machines" / "run.py").write_text("from transcripts import store\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "machines import nothing of the project BROKEN" in result.stdout
    assert "machines.run -> transcripts.store" in result.stdout
