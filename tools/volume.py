"""The agent's runner volume (`/opt/backend.ai`) for an agent release, fetched once and cached.

An agent release names its volume in its own package metadata: `backend.ai-agent==V` requires
`backend.ai-krunner-static-gnu==X` (and `backend.ai-kernel==V`, which the bundle's wheels must
keep satisfied). pip reads that metadata from the package index (PEP 658: the agent itself is
not downloaded); the volume package is downloaded once and its
`krunner-env.static-gnu.x86_64.tar.xz` (the Python the agent extracts into the volume) is
unpacked under the cache: `$KRUNNER_VOLUME_CACHE`, else `~/.cache/krunner/volumes`. The
original runner's folders of the release (`backend.ai-kernel` and `backend.ai-kernel-helper`)
are kept there too, for comparisons. Nothing here keeps a table of releases.

Refused, with the reason (`VolumeError`): a release the index does not have, one that pins no
static-gnu volume or no single `backend.ai-kernel`, and a volume krunner cannot run on (its
Python older than 3.11, or without pyzmq, msgpack or jupyter-client).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

AGENT = "backend.ai-agent"
VOLUME_PACKAGE = "backend.ai-krunner-static-gnu"
ORIGINAL_PACKAGES = ("backend.ai-kernel", "backend.ai-kernel-helper")
ENV_ARCHIVE = "ai/backend/krunner/static_gnu/krunner-env.static-gnu.x86_64.tar.xz"
PYTHON_NOTE = "ai/backend/krunner/static_gnu/krunner-python.static-gnu.txt"
MOUNT_POINT = Path("/opt/backend.ai")
OLDEST_PYTHON = (3, 11)
NEEDED_MODULES = {"pyzmq": "zmq", "msgpack": "msgpack", "jupyter_client": "jupyter_client"}
PROBE = r"""
import importlib.metadata as m, importlib.util as u, json, sqlite3, sys
dists = sorted({(d.metadata["Name"], d.version) for d in m.distributions()})
print(json.dumps({"python": "%d.%d.%d" % sys.version_info[:3], "sqlite": sqlite3.sqlite_version,
                  "distributions": dists,
                  "missing": [n for n in sys.argv[1:] if u.find_spec(n) is None]}))
"""


class VolumeError(Exception):
    """The agent release or its volume cannot be used (the message says why)."""


@dataclass(frozen=True, slots=True)
class AgentPins:
    """What an agent release requires of the kernel side, from its own metadata."""

    agent: str  # normalized, e.g. "24.3.11"
    kernel: str  # the `backend.ai-kernel` version it pins, normalized ("24.03.11" -> "24.3.11")
    volume: str  # e.g. "backend.ai-krunner-static-gnu==4.3.0"
    requires_python: str  # the agent host's Python


@dataclass(frozen=True, slots=True)
class Volume:
    """An unpacked runner volume: what the agent mounts at /opt/backend.ai."""

    root: Path
    package: str  # "backend.ai-krunner-static-gnu 4.3.0"
    python_version: str  # "3.12.6"
    sqlite_version: str
    distributions: tuple[tuple[str, str], ...]

    @property
    def python(self) -> Path:
        """Its interpreter, runnable where it lies (`bin/python` links to /opt/backend.ai)."""
        return self.root / "bin" / "python3"

    @property
    def site_packages(self) -> Path:
        minor = ".".join(self.python_version.split(".")[:2])
        return self.root / "lib" / f"python{minor}" / "site-packages"

    def site_packages_at(self, mount_point: Path = MOUNT_POINT) -> Path:
        """Where its site-packages is once mounted (the agent binds the folders there)."""
        return mount_point / self.site_packages.relative_to(self.root)


def cache_dir() -> Path:
    named = os.environ.get("KRUNNER_VOLUME_CACHE")
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "krunner" / "volumes"


def normalized_release(text: str) -> str:
    try:
        return str(Version(text))
    except InvalidVersion:
        raise VolumeError(f"{text!r} is not a version number (e.g. 24.3.11)") from None


@contextlib.contextmanager
def _locked(name: str) -> Iterator[Path]:
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield root


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)


def _pip_failure(what: str, done: subprocess.CompletedProcess[str]) -> VolumeError:
    lines = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    reason = lines[-1] if lines else (done.stderr.strip().splitlines() or ["no output"])[-1]
    if "No matching distribution" in reason:
        return VolumeError(f"{what} is not a release on the package index ({reason})")
    return VolumeError(f"pip could not fetch {what}: {reason}")


def agent_pins(release: str) -> AgentPins:
    """Read (once; then from the cache) what `backend.ai-agent==release` requires."""
    agent = normalized_release(release)
    with _locked("agents") as root:
        cached = root / "agents" / f"{agent}.json"
        if not cached.is_file():
            metadata = _agent_metadata(agent)
            cached.parent.mkdir(exist_ok=True)
            cached.write_text(json.dumps(metadata))
        metadata = json.loads(cached.read_text())
    return _pins_from(agent, metadata)


def _agent_metadata(agent: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        done = _pip("install", "--dry-run", "--no-deps", "--ignore-installed",
                    "--ignore-requires-python", "--only-binary=:all:", "--quiet",
                    "--report", str(report), f"{AGENT}=={agent}")
        if done.returncode != 0:
            raise _pip_failure(f"{AGENT} {agent}", done)
        [item] = json.loads(report.read_text())["install"]
    metadata = item["metadata"]
    return {"requires_dist": metadata.get("requires_dist", []),
            "requires_python": metadata.get("requires_python", "")}


def _pins_from(agent: str, metadata: dict[str, object]) -> AgentPins:
    requirements = [Requirement(text) for text in metadata["requires_dist"]]  # type: ignore[union-attr]
    by_name = {r.name.lower().replace("_", "-"): r for r in requirements
               if r.marker is None or r.marker.evaluate({"extra": ""})}
    volume = by_name.get(VOLUME_PACKAGE)
    if volume is None:
        raise VolumeError(f"{AGENT} {agent} pins no {VOLUME_PACKAGE} volume; krunner's bundle "
                          "runs on that volume only")
    kernel = by_name.get("backend.ai-kernel")
    pinned = [s for s in (kernel.specifier if kernel else ()) if s.operator == "=="]
    if len(pinned) != 1:
        raise VolumeError(f"{AGENT} {agent} does not pin backend.ai-kernel to one version "
                          f"({kernel or 'no requirement'}); the wheels could not stand in for it")
    return AgentPins(agent, str(Version(pinned[0].version)), f"{volume.name}{volume.specifier}",
                     str(metadata.get("requires_python") or ""))


def volume(spec: str) -> Volume:
    """The unpacked volume `spec` (e.g. `backend.ai-krunner-static-gnu==4.3.0`), fetched once."""
    key = spec.split("==", 1)[1] if "==" in spec else spec.replace("/", "_")
    with _locked(f"volume-{key}") as root:
        target = root / key
        if not (target / ".ready").is_file():
            _fetch_volume(spec, target)
        probe = json.loads((target / ".ready").read_text())
    return Volume(target, probe["package"], probe["python"], probe["sqlite"],
                  tuple(map(tuple, probe["distributions"])))


def volume_for(release: str) -> tuple[AgentPins, Volume]:
    pins = agent_pins(release)
    return pins, volume(pins.volume)


def _fetch_volume(spec: str, target: Path) -> None:
    if platform.machine() != "x86_64":
        raise VolumeError(f"the {VOLUME_PACKAGE} volume is x86_64; this machine is "
                          f"{platform.machine()}")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        done = _pip("download", "--no-deps", "--only-binary=:all:", "--quiet",
                    "--dest", tmp, spec)
        if done.returncode != 0:
            raise _pip_failure(spec, done)
        [wheel] = Path(tmp).glob("*.whl")
        version = wheel.name.split("-")[1]
        with zipfile.ZipFile(wheel) as archive:
            declared = archive.read(PYTHON_NOTE).decode().strip()
            _refuse_old_python(f"{VOLUME_PACKAGE} {version}", declared)
            unpacked = Path(tmp) / "env"
            with archive.open(ENV_ARCHIVE) as stream, tarfile.open(fileobj=stream,
                                                                   mode="r|xz") as tar:
                tar.extractall(unpacked, filter="tar")  # its bin/python links to /opt/...
        probe = _probe(unpacked / "bin" / "python3", f"{VOLUME_PACKAGE} {version}")
        probe["package"] = f"{VOLUME_PACKAGE} {version}"
        (unpacked / ".ready").write_text(json.dumps(probe))
        shutil.rmtree(target, ignore_errors=True)
        unpacked.rename(target)


def _refuse_old_python(what: str, version: str) -> None:
    numbers = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    if numbers < OLDEST_PYTHON:
        raise VolumeError(f"{what} holds Python {version}; krunner needs "
                          f"{'.'.join(map(str, OLDEST_PYTHON))} or newer (keep the original "
                          "runner on this release)")


def _probe(python: Path, what: str) -> dict[str, object]:
    done = subprocess.run([str(python), "-I", "-c", PROBE, *NEEDED_MODULES.values()],
                          capture_output=True, text=True, cwd=python.parent)
    if done.returncode != 0:
        raise VolumeError(f"the Python of {what} does not run here: {done.stderr.strip()}")
    probe = json.loads(done.stdout)
    _refuse_old_python(what, probe["python"])
    if probe["missing"]:
        raise VolumeError(f"{what} lacks {', '.join(probe['missing'])}, which krunner needs")
    return probe


def originals(pins: AgentPins) -> tuple[Path, Path]:
    """The original runner's `kernel` and `helpers` folders of this release (fetched once)."""
    with _locked(f"original-{pins.kernel}") as root:
        target = root / "originals" / pins.kernel
        if not (target / ".ready").is_file():
            with tempfile.TemporaryDirectory(dir=root) as tmp:
                done = _pip("download", "--no-deps", "--only-binary=:all:", "--quiet",
                            "--ignore-requires-python", "--dest", tmp,
                            *(f"{name}=={pins.kernel}" for name in ORIGINAL_PACKAGES))
                if done.returncode != 0:
                    raise _pip_failure(f"the original runner {pins.kernel}", done)
                unpacked = Path(tmp) / "site"
                for wheel in Path(tmp).glob("*.whl"):
                    with zipfile.ZipFile(wheel) as archive:
                        archive.extractall(unpacked)
                (unpacked / ".ready").touch()
                shutil.rmtree(target, ignore_errors=True)
                target.parent.mkdir(parents=True, exist_ok=True)
                unpacked.rename(target)
    return target / "ai" / "backend" / "kernel", target / "ai" / "backend" / "helpers"
