"""Install the toolchains the tests run for real, once, and only what is missing.

`make test` calls this before pytest. Each entry names a command that proves the toolchain is
there and the Debian package that brings it. Nothing is fetched when every command is found,
so a second `make test` never reaches for the network. Without root (a developer's machine)
it only says what is missing; the tests that need it then skip, naming it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# command that must be on PATH (or a file, by absolute path) -> Debian package providing it
TOOLCHAINS: dict[str, str] = {
    "gcc": "gcc",
    "g++": "g++",
    "make": "make",
    "git": "git",
    "bash": "bash",
    "tmux": "tmux",
    # services (issue 10): sshd with the system's dropbear, a real ssh client to log in
    "dropbear": "dropbear-bin",
    "dropbearkey": "dropbear-bin",
    "dropbearconvert": "dropbear-bin",
    "useradd": "passwd",  # a throwaway user logs in over ssh
    "ssh": "openssh-client",
    "nsenter": "util-linux",  # the full and read-only disk tests (tests/test_degraded.py)
    "unshare": "util-linux",  # the reproduced kernel container (tools/container.py)
    "mount": "mount",
    # languages (issue 9)
    "stdbuf": "coreutils",
    "javac": "default-jdk-headless",
    "/usr/bin/rustc": "rustc",  # Debian's, not a rustup shim that needs HOME
    "/usr/bin/cargo": "cargo",
    "go": "golang-go",
    "node": "nodejs",
    "lua5.4": "lua5.4",
    "php": "php-cli",
    "Rscript": "r-base-core",
    "/usr/share/jupyter/kernels/ir/kernel.json": "r-cran-irkernel",
    "octave-cli": "octave",
    "ghc": "ghc",
    "mit-scheme": "mit-scheme",
    # the session report opened in a real browser (tests/test_report.py, through Playwright)
    "/usr/bin/chromium": "chromium",
}


def missing(toolchains: dict[str, str] = TOOLCHAINS) -> list[str]:
    """Debian packages whose command is not found, in a stable order, without repeats."""
    return sorted({pkg for cmd, pkg in toolchains.items() if not _present(cmd)})


def _present(command: str) -> bool:
    """A command on PATH, or (an absolute path) a file a package installs, e.g. a kernelspec."""
    return os.path.exists(command) if command.startswith("/") else shutil.which(command) is not None


def install(packages: list[str]) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(["apt-get", "update", "-q"], env=env)
    if update.returncode != 0:
        return update.returncode
    return subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                           *packages], env=env).returncode


def main() -> int:
    packages = missing()
    if not packages:
        return 0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"toolchains: missing {' '.join(packages)} (not root or no apt-get: "
              "their tests will skip)", file=sys.stderr)
        return 0
    print(f"toolchains: installing {' '.join(packages)}", file=sys.stderr)
    return install(packages)


if __name__ == "__main__":
    sys.exit(main())
