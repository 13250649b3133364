"""`ai.backend.helpers.install` (PROTOCOL §10.2) from user code: a package from a local package
folder (no network) goes into the user's site and imports at once; asked again, it is reported
with its version instead of being installed again; `force_install` reinstalls it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import container
from tools.launch import RunnerProcess, start_runner
from tools.wheel import write_wheel

# the first use builds the image's Python (tools/container.py): longer than a test's usual limit
pytestmark = pytest.mark.timeout(900)

INSTALL = "from ai.backend.helpers import install\ninstall({name!r}{force})\n"


@pytest.fixture
def packages(tmp_path: Path) -> Path:
    """A local package folder holding `krunner-demo-pkg` 1.2.3 (one module, VALUE = 42)."""
    source = tmp_path / "demo-src"
    (source / "krunner_demo_pkg").mkdir(parents=True)
    (source / "krunner_demo_pkg" / "__init__.py").write_text("VALUE = 42\n")
    folder = tmp_path / "local-packages"
    write_wheel(folder, "krunner-demo-pkg", "1.2.3", source, source / "krunner_demo_pkg",
                "a package for the helper's tests")
    return folder


@pytest.fixture
def runner(tmp_path: Path, packages: Path) -> RunnerProcess:
    local_only = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(packages), "PYTHONPATH": "",
                  "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    r = start_runner(tmp_path, "python", runtime=str(container.image_python()), env=local_only)
    yield r
    r.stop()


def code(name: str, force: bool = False) -> str:
    return INSTALL.format(name=name, force=", force_install=True" if force else "")


def test_install_puts_a_local_package_in_the_user_site_and_reports_it_the_second_time(
        runner: RunnerProcess) -> None:
    client = runner.client()
    first = client.query(code("krunner-demo-pkg") + "import krunner_demo_pkg\n"
                         "print('value', krunner_demo_pkg.VALUE, krunner_demo_pkg.__file__)")
    assert first.exit_code == 0, first.stderr
    assert "Successfully installed krunner-demo-pkg-1.2.3" in first.stdout
    user_site = runner.work_dir / ".local" / "lib"
    assert f"value 42 {user_site}" in first.stdout  # pip --user, with HOME the work folder

    again = client.query(code("KRUNNER_DEMO_PKG"))
    assert again.stdout == "'krunner-demo-pkg' is already installed (version: 1.2.3).\n"

    forced = client.query(code("krunner-demo-pkg", force=True))
    assert "Successfully installed krunner-demo-pkg-1.2.3" in forced.stdout


def test_a_batch_program_finds_the_package_installed_from_a_query(
        runner: RunnerProcess) -> None:
    client = runner.client()
    assert client.query(code("krunner-demo-pkg")).exit_code == 0
    (runner.work_dir / "main.py").write_text(code("krunner_demo_pkg"))
    result = client.batch(exec=f"{container.image_python()} main.py")
    assert result.exec_exit == 0, result.stderr
    assert result.stdout == "'krunner-demo-pkg' is already installed (version: 1.2.3).\n"


def test_a_package_that_is_nowhere_fails_with_pips_own_words(runner: RunnerProcess) -> None:
    result = runner.client().query(code("krunner-no-such-pkg"))
    assert "No matching distribution found for krunner-no-such-pkg" in result.stdout + \
        result.stderr
