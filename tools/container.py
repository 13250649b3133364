"""A Backend.AI kernel container reproduced without Docker, for tests and benchmarks.

- The *volume* (`/opt/backend.ai` in a cluster): a venv holding exactly the dependencies of
  the original `backend.ai-kernel==23.9.10` (and its helper package), and no krunner. It is
  made by installing the originals from the package registry and uninstalling the two
  packages themselves, so their folders are kept aside (`original_mount()`) for comparisons.
- The *image's* Python (the runtime path): a venv with ipykernel and nothing of krunner,
  built on the system Python's site-packages (so `pip install --user` works in it, as it does
  with an image's `/usr/bin/python`); `jupyter_data()` holds its kernel spec for the original.
- `launch()` starts the runner as the agent does: in a private mount namespace, the kernel and
  helpers folders bind-mounted read-only into the volume's site-packages, tmpfs on `/home`
  and `/tmp`, the given folders bind-mounted at `/home/work` and `/home/config` (plus any
  extra binds, e.g. a `.logs` storage folder), cwd `/home/work`, and the command
  `python -s -m ai.backend.kernel [--debug] LANG RUNTIME_PATH` with a container's environment.

`launch()` needs root, unshare(1) and mount(8) (the agent's bind mounts are real bind mounts
here). Built venvs are kept under `build/container` and reused; a lock serialises their
building; `python -m tools.container` builds them ahead (`make test` does, so no test waits).
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "container"
ORIGINALS = ("backend.ai-kernel==23.9.10", "backend.ai-kernel-helper==23.9.10")
ORIGINAL_PACKAGES = ("backend.ai-kernel", "backend.ai-kernel-helper")
IMAGE_PACKAGES = ("ipykernel",)
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MOUNT_POINTS = ("kernel", "helpers")

LAUNCH = r"""
set -e
site="$1"; kernel="$2"; helpers="$3"; work="$4"; config="$5"; binds="$6"; keep="$7"; shift 7
for name in kernel helpers; do
  eval src=\$$name
  mount --bind "$src" "$site/ai/backend/$name"
  mount -o remount,bind,ro "$site/ai/backend/$name"
done
mount -t tmpfs tmpfs /home
mkdir -p /home/work /home/config
mount --bind "$work" /home/work
mount --bind "$config" /home/config
printf '%s\n' "$binds" | while IFS='|' read -r src dst; do
  if [ -n "$src" ]; then mkdir -p "$dst"; mount --bind "$src" "$dst"; fi
done
# A private /tmp; the built Pythons stay visible where they are, also when this checkout
# itself lives under /tmp (as a CI clone may).
mkdir /home/.host-tmp
mount --rbind /tmp /home/.host-tmp
mount -t tmpfs tmpfs /tmp
case "$keep" in /tmp/*)
  mkdir -p "$keep"; mount --rbind "/home/.host-tmp/${keep#/tmp/}" "$keep";;
esac
umount -l /home/.host-tmp
rmdir /home/.host-tmp
cd /home/work
exec "$@"
"""


def usable() -> str | None:
    """Why a container cannot be reproduced here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (for a private mount namespace and bind mounts)"
    missing = [tool for tool in ("unshare", "mount") if shutil.which(tool) is None]
    return f"needs {' and '.join(missing)}" if missing else None


def _venv(name: str, base_python: str, options: tuple[str, ...],
          fill: Callable[[Path], None]) -> Path:
    """The Python of `build/container/<name>`, made and filled once (a lock serialises it)."""
    BUILD.mkdir(parents=True, exist_ok=True)
    venv = BUILD / name
    with open(BUILD / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = venv / "bin" / "python"
        if not (venv / ".ready").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([base_python, "-m", "venv", *options, str(venv)], check=True)
            fill(python)
            (venv / ".ready").touch()
    return python


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *args], check=True)


@functools.cache
def site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                          "['purelib'])"], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def volume_python() -> Path:
    """The volume's Python: the original's dependencies only, with empty mount points."""
    return _venv("volume", sys.executable, (), _fill_volume)


def _fill_volume(python: Path) -> None:
    _pip(python, *ORIGINALS)
    site = site_packages(python)
    kept = BUILD / "original-mount"
    shutil.rmtree(kept, ignore_errors=True)
    for name in MOUNT_POINTS:
        shutil.copytree(site / "ai" / "backend" / name, kept / name)
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", *ORIGINAL_PACKAGES],
                   check=True)
    for name in MOUNT_POINTS:
        shutil.rmtree(site / "ai" / "backend" / name, ignore_errors=True)
        (site / "ai" / "backend" / name).mkdir(parents=True)


def original_mount() -> tuple[Path, Path]:
    """The original 23.9.10's kernel and helpers folders, as an agent host would mount them."""
    volume_python()
    return BUILD / "original-mount" / "kernel", BUILD / "original-mount" / "helpers"


def image_python() -> Path:
    """The image's Python: ipykernel, no krunner, `--user` installs allowed."""
    return _venv("image", _system_python(), ("--system-site-packages",), _fill_image)


def _fill_image(python: Path) -> None:
    _pip(python, *IMAGE_PACKAGES)
    spec = python.parent.parent / "share" / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (image)", "language": "python"}))


def jupyter_data() -> Path:
    """The image's Jupyter data folder (its kernel spec), for `JUPYTER_PATH`."""
    return image_python().parent.parent / "share" / "jupyter"


def _system_python() -> str:
    """The Python this venv was made from (its base), not the venv itself."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}")



@dataclass
class Container:
    """A runner started as the agent starts it."""

    proc: subprocess.Popen[bytes]
    input_port: int
    output_port: int
    work: Path
    stderr_path: Path
    spawned_at: float  # time.perf_counter() just before the process was started

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 30) -> int:
        """The agent's stop signal (SIGINT); SIGKILL if it does not end in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def launch(kernel: Path, helpers: Path, work: Path, config: Path, *, lang: str = "python",
           runtime: Path | None = None, kernel_id: str = "", debug: bool = False,
           binds: dict[Path, str] | None = None, env: dict[str, str] | None = None,
           python: Path | None = None) -> Container:
    """Start `python -s -m ai.backend.kernel` from the volume with these folders mounted."""
    python = python or volume_python()
    runtime = runtime or image_python()
    inp, out = free_port(), free_port()
    config.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (config / "intrinsic-ports.json").write_text(json.dumps({"replin": inp, "replout": out}))
    container_env = {"PATH": CONTAINER_PATH, "HOME": "/home/work", "LANG": "C.UTF-8",
                     "BACKENDAI_KERNEL_ID": kernel_id, "JUPYTER_PATH": str(jupyter_data()),
                     **(env or {})}
    command = [str(python), "-s", "-m", "ai.backend.kernel", *(["--debug"] if debug else []),
               lang, str(runtime)]
    bind_lines = "\n".join(f"{src}|{dst}" for src, dst in (binds or {}).items())
    argv = ["unshare", "-m", "sh", "-c", LAUNCH, "container", str(site_packages(python)),
            str(kernel), str(helpers), str(work), str(config), bind_lines, str(BUILD),
            "env", "-i", *(f"{k}={v}" for k, v in container_env.items()), *command]
    stderr_path = work.parent / f"{work.name}.stderr"
    with open(stderr_path, "wb") as stderr:
        spawned_at = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr)
    return Container(proc, inp, out, work, stderr_path, spawned_at)


def main() -> int:
    """`python -m tools.container`: build (once) the volume's and the image's Pythons."""
    print(volume_python())
    print(image_python())
    return 0


if __name__ == "__main__":
    sys.exit(main())
