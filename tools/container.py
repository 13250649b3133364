"""A Backend.AI kernel container reproduced without Docker, for tests and benchmarks.

- The *volume* (`/opt/backend.ai`): the real runner volume the agent release pins, the
  Python environment of its `backend.ai-krunner-static-gnu` package (`tools/volume.py` reads
  the pin from the agent's metadata, fetches it once and caches it), mounted read-only.
  `LINES` are the agent releases the tests reproduce: 23.9.10 (volume 4.1.1, Python 3.11.1)
  and 24.3.11 (volume 4.3.0, Python 3.12.6). `original_mount()` gives the original runner's
  folders of a release, for comparisons.
- The *image's* Python (the runtime path): a venv with ipykernel and nothing of krunner,
  built on the system Python's site-packages (so `pip install --user` works in it, as it does
  with an image's `/usr/bin/python`); `jupyter_data()` holds its kernel spec for the original.
- `launch()` starts the runner as the agent does: in a private mount namespace, the volume at
  `/opt/backend.ai`, the kernel and helpers folders bind-mounted read-only into its
  `site-packages`, tmpfs on `/home` and `/tmp`, the given folders bind-mounted at `/home/work`
  and `/home/config` (plus any extra binds, e.g. a `.logs` storage folder), cwd `/home/work`,
  and `/opt/backend.ai/bin/python -s -m ai.backend.kernel [--debug] LANG RUNTIME_PATH` with a
  container's environment (`LD_LIBRARY_PATH` starting with `/opt/backend.ai/lib`, as the
  agent's entrypoint sets it).

`launch()` needs root, unshare(1) and mount(8) (the agent's bind mounts are real bind mounts
here). The image's venv is kept under `build/container` and reused; a lock serialises its
building; `python -m tools.container` fetches the volumes and builds it ahead (`make test`
does, so no test waits).
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

from tools import volume as volumes
from tools.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "container"
LINES = ("23.9.10", "24.3.11")  # agent releases: the 23.09 line's and the 24.03 line's newest
DEFAULT_LINE = LINES[0]
IMAGE_PACKAGES = ("ipykernel",)
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
VOLUME_AT = str(volumes.MOUNT_POINT)

LAUNCH = r"""
set -e
volume="$1"; site="$2"; kernel="$3"; helpers="$4"; work="$5"; config="$6"; binds="$7"
keep="$8"; shift 8
mkdir -p /opt/backend.ai
mount --bind "$volume" /opt/backend.ai
for name in kernel helpers; do
  eval src=\$$name
  mount --bind "$src" "$site/ai/backend/$name"
  mount -o remount,bind,ro "$site/ai/backend/$name"
done
mount -o remount,bind,ro /opt/backend.ai
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


@functools.cache
def line(agent: str = DEFAULT_LINE) -> tuple[volumes.AgentPins, volumes.Volume]:
    """The agent release's pins and its runner volume (fetched once, then from the cache)."""
    return volumes.volume_for(agent)


def original_mount(agent: str = DEFAULT_LINE) -> tuple[Path, Path]:
    """The original runner's kernel and helpers folders of that release, as a host mounts them."""
    return volumes.originals(line(agent)[0])


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
           agent: str = DEFAULT_LINE) -> Container:
    """Start `python -s -m ai.backend.kernel` from the agent release's volume with these
    folders mounted."""
    volume = line(agent)[1]
    runtime = runtime or image_python()
    inp, out = free_port(), free_port()
    config.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    # the host network is shared here, as with an agent in host-network mode: every intrinsic
    # service gets its own port (ttyd's default 7681 would be taken by the first container)
    (config / "intrinsic-ports.json").write_text(json.dumps(
        {"replin": inp, "replout": out, "sshd": free_port(), "ttyd": free_port()}))
    container_env = {"PATH": CONTAINER_PATH, "HOME": "/home/work", "LANG": "C.UTF-8",
                     "LD_LIBRARY_PATH": f"{VOLUME_AT}/lib",
                     "BACKENDAI_KERNEL_ID": kernel_id, "JUPYTER_PATH": str(jupyter_data()),
                     **(env or {})}
    command = [f"{VOLUME_AT}/bin/python", "-s", "-m", "ai.backend.kernel",
               *(["--debug"] if debug else []), lang, str(runtime)]
    bind_lines = "\n".join(f"{src}|{dst}" for src, dst in (binds or {}).items())
    argv = ["unshare", "-m", "sh", "-c", LAUNCH, "container", str(volume.root),
            str(volume.site_packages_at()), str(kernel), str(helpers), str(work), str(config),
            bind_lines, str(BUILD),
            "env", "-i", *(f"{k}={v}" for k, v in container_env.items()), *command]
    stderr_path = work.parent / f"{work.name}.stderr"
    with open(stderr_path, "wb") as stderr:
        spawned_at = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr)
    return Container(proc, inp, out, work, stderr_path, spawned_at)


def main() -> int:
    """`python -m tools.container`: fetch (once) the lines' volumes and original runners, and
    build the image's Python; exit 1 with the reason if a volume cannot be had."""
    try:
        for agent in LINES:
            volume = line(agent)[1]
            original_mount(agent)
            print(f"backend.ai-agent {agent}: {volume.package} (Python "
                  f"{volume.python_version}) at {volume.root}")
    except volumes.VolumeError as e:
        print(f"container: {e}", file=sys.stderr)
        return 1
    print(f"image Python: {image_python()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
