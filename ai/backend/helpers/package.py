"""`install(pkgname, force_install=False)`: pip-install a package into the user's site.

As the original: unless forced, a distribution of that name that is already installed is
reported with its version and left alone; otherwise `<python> -m pip install --user [-I]
<pkgname>` runs (any pip option, such as an index or a local package folder, comes from pip's
own configuration or `PIP_*` variables), pip's output is shown as the user's own output, and
the user site is put on `sys.path` so the package imports at once. Installed distributions
are read with `importlib.metadata` (the original's `pkg_resources` is gone from recent
Pythons).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import site
import subprocess
import sys


def install(pkgname: str, force_install: bool = False) -> None:
    """Install `pkgname` for the user, showing pip's output as the user's own."""
    if not force_install:
        found = installed_version(pkgname)
        if found is not None:
            print(f"'{found[0]}' is already installed (version: {found[1]}).")
            return
    argv = [sys.executable, "-m", "pip", "install", "--user"]
    if force_install:
        argv.append("-I")
    argv.append(pkgname)
    _run_showing_output(argv)
    user_site = site.getusersitepackages()
    if user_site not in sys.path:
        sys.path.insert(0, user_site)
    importlib.invalidate_caches()


def _run_showing_output(argv: list[str]) -> int:
    """Run pip with its output re-printed line by line: in a Jupyter kernel a child's own
    stdout would go to the kernel's log, not to the user (the original lost it there)."""
    sys.stdout.flush()
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
        return proc.wait()


def installed_version(pkgname: str) -> tuple[str, str] | None:
    """(name, version) of the installed distribution called `pkgname`, case and `-`/`_`/`.`
    insensitive; None if there is none."""
    wanted = _normalized(pkgname)
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] or ""
        if name and _normalized(name) == wanted:
            return name, dist.version
    return None


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
