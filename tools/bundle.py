"""`python -m tools.bundle [--agent-version 23.9.10] [--out build/bundle]`: the folders the agent
mounts, and their wheels, for one agent release.

The agent bind-mounts the `ai/backend/kernel` and `ai/backend/helpers` folders of its host's
installation into the kernel-runner volume's `site-packages` (PROTOCOL §1.1); nothing else of
the host reaches the container. So the kernel folder is built self-contained:

    ai/backend/kernel/            krunner's module (`__main__` starts krunner), drawing API
        _krunner/                 runner/, machines/, transcripts/ (krunner itself)
        _vendor/                  pure-Python dependencies the volume lacks (transitions,
                                  sqlite-utils and theirs), copied from this environment
    ai/backend/helpers/           `install()` for user code (PROTOCOL §10.2)

orjson (binary) is left out: `transcripts/fastjson.py` falls back to the standard library.
Everything else krunner needs (pyzmq, msgpack, jupyter-client) is in the runner volume.

The agent release decides the rest, from its own package metadata (`tools/volume.py`): the
wheels' version `<release>+krunner.<version>` keeps its pin `backend.ai-kernel==<release>`
satisfied; its runner volume (`backend.ai-krunner-static-gnu`, fetched once) lends its own
Python to byte-compile both folders (hash-checked bytecode, valid whatever the files' times
after `pip install`: the mount is read-only, so a container could not cache bytecode itself);
`ai/backend/kernel/BUILD.json` names the release and the volume (the runner's first log line
and its `status` say them).

Out: `<out>/site-packages/ai/backend/{kernel,helpers}` and `<out>/dist/` with the wheels
`backend.ai-kernel` and `backend.ai-kernel-helper`: `pip install` them on the agent host in
place of the originals (docs/operations.md). Exit 0 built, 1 the build failed or the release
is refused (the reason on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

import ai.backend.helpers as helpers_package
import ai.backend.kernel as kernel_package
from tools.volume import AgentPins, Volume, VolumeError, normalized_release, volume_for
from tools.wheel import write_wheel

ROOT = Path(__file__).resolve().parent.parent
OWN_PACKAGES = ("runner", "machines", "transcripts")
VENDORED_ROOTS = ("transitions", "sqlite-utils", "httpx")
# sqlite-utils lists pip only for its `sqlite-utils install` command, which krunner never runs
NOT_VENDORED = frozenset({"pip", "setuptools", "wheel"})
BINARY_SUFFIXES = (".so", ".pyd", ".dylib")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")
DEFAULT_AGENT = "23.9.10"


class BundleError(Exception):
    """The bundle cannot be built as asked."""


@dataclass(frozen=True, slots=True)
class Bundle:
    """What was built."""

    site_packages: Path
    kernel: Path
    helpers: Path
    version: str
    vendored: tuple[str, ...]
    wheels: tuple[Path, ...]
    pins: AgentPins
    volume: Volume


def krunner_version() -> str:
    """krunner's version, checked to agree with the project's (tests check the runner's)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    if (project != kernel_package.KRUNNER_VERSION
            or helpers_package.__version__ != kernel_package.__version__):
        raise BundleError(f"versions disagree: pyproject {project}, ai.backend.kernel "
                          f"{kernel_package.__version__}, ai.backend.helpers "
                          f"{helpers_package.__version__}")
    return kernel_package.KRUNNER_VERSION


def vendored_distributions(roots: tuple[str, ...] = VENDORED_ROOTS) -> list[str]:
    """The roots and everything they need at run time, from this environment's metadata."""
    seen: dict[str, None] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        dist = importlib.metadata.distribution(name)
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen or key in NOT_VENDORED:
            continue
        seen[key] = None
        for spec in dist.requires or ():
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return sorted(seen)


def copy_distribution(name: str, target: Path) -> None:
    """Copy an installed distribution's files (and its metadata) under `target`."""
    dist = importlib.metadata.distribution(name)
    if dist.files is None:
        raise BundleError(f"{name} lists no files; cannot bundle it")
    for file in dist.files:
        if file.parts[0] == ".." or "__pycache__" in file.parts:
            continue  # console scripts and bytecode of another build
        if file.suffix in BINARY_SUFFIXES:
            raise BundleError(f"{name} is binary ({file}); it cannot be bundled")
        source = Path(str(dist.locate_file(file)))
        if source.is_file():
            dest = target / file
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)


def build(out: Path, agent_release: str = DEFAULT_AGENT) -> Bundle:
    pins, volume = volume_for(agent_release)
    version = f"{pins.kernel}+krunner.{krunner_version()}"
    site = out / "site-packages"
    shutil.rmtree(out, ignore_errors=True)
    kernel = site / "ai" / "backend" / "kernel"
    helpers = site / "ai" / "backend" / "helpers"
    shutil.copytree(ROOT / "ai/backend/kernel", kernel, ignore=IGNORED)
    shutil.copytree(ROOT / "ai/backend/helpers", helpers, ignore=IGNORED)
    for package in OWN_PACKAGES:
        shutil.copytree(ROOT / package, kernel / "_krunner" / package, ignore=IGNORED)
    vendored = vendored_distributions()
    for name in vendored:
        copy_distribution(name, kernel / "_vendor")
    (kernel / "BUILD.json").write_text(json.dumps({
        "krunner": krunner_version(), "agent": pins.agent, "volume": volume.package,
        "python": volume.python_version}, indent=1) + "\n")
    for folder in (kernel, helpers):
        (folder / "VERSION").write_text(version + "\n")
        byte_compile(volume, folder)
    dist = out / "dist"
    wheels = (
        write_wheel(dist, "backend.ai-kernel", version, site, kernel,
                    "krunner: a Backend.AI kernel runner (self-contained, mounted by the agent)"),
        write_wheel(dist, "backend.ai-kernel-helper", version, site, helpers,
                    "krunner's kernel-helper package for user code"),
    )
    return Bundle(site, kernel, helpers, version, tuple(vendored), wheels, pins, volume)


def byte_compile(volume: Volume, folder: Path) -> None:
    """Bytecode for the volume's Python, checked by source hash rather than file times."""
    done = subprocess.run([str(volume.python), "-s", "-m", "compileall", "-q", "-j", "0",
                           "--invalidation-mode", "checked-hash", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BundleError(f"byte-compiling {folder} with {volume.package}'s Python "
                          f"{volume.python_version} failed: {done.stdout}{done.stderr}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bundle", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agent-version", default=DEFAULT_AGENT,
                   help="the backend.ai-agent release of the cluster (default %(default)s)")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "bundle")
    args = p.parse_args(argv)
    try:
        normalized_release(args.agent_version)
    except VolumeError as e:
        p.error(str(e))  # exit 2
    try:
        bundle = build(args.out, args.agent_version)
    except (BundleError, VolumeError, OSError, importlib.metadata.PackageNotFoundError) as e:
        print(f"bundle: {e}", file=sys.stderr)
        return 1
    print(f"built krunner {bundle.version} into {bundle.site_packages} for backend.ai-agent "
          f"{bundle.pins.agent}: runner volume {bundle.volume.package}, bytecode for Python "
          f"{bundle.volume.python_version}", file=sys.stderr)
    print(f"vendored: {', '.join(bundle.vendored)}", file=sys.stderr)
    for wheel in bundle.wheels:
        print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
