"""`python -m tools.bundle [--out build/bundle]`: the folders the agent mounts, and their wheels.

The agent bind-mounts the `ai/backend/kernel` and `ai/backend/helpers` folders of its host's
installation into the kernel-runner volume's `site-packages` (PROTOCOL §1.1); nothing else of
the host reaches the container. So the kernel folder is built self-contained:

    ai/backend/kernel/            krunner's module (`__main__` starts krunner), drawing API
        _krunner/                 runner/, machines/, transcripts/ (krunner itself)
        _vendor/                  pure-Python dependencies the volume lacks (transitions,
                                  sqlite-utils and theirs), copied from this environment
    ai/backend/helpers/           `install()` for user code (PROTOCOL §10.2)

orjson (binary) is left out: `transcripts/fastjson.py` falls back to the standard library.
Everything else krunner needs (pyzmq, msgpack, jupyter-client) is a dependency of the original
and is in the volume. Both folders are byte-compiled with this Python (the mount is
read-only, so a container could not cache bytecode itself).

Out: `<out>/site-packages/ai/backend/{kernel,helpers}` and `<out>/dist/` with the wheels
`backend.ai-kernel` and `backend.ai-kernel-helper`, version `23.9.10+krunner.<version>`:
`pip install` them on the agent host in place of the originals (docs/operations.md).
Exit 0 built, 1 the build failed (the reason on stderr).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata
import shutil
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

import ai.backend.helpers as helpers_package
import ai.backend.kernel as kernel_package
from tools.wheel import write_wheel

ROOT = Path(__file__).resolve().parent.parent
OWN_PACKAGES = ("runner", "machines", "transcripts")
VENDORED_ROOTS = ("transitions", "sqlite-utils", "httpx")
# sqlite-utils lists pip only for its `sqlite-utils install` command, which krunner never runs
NOT_VENDORED = frozenset({"pip", "setuptools", "wheel"})
BINARY_SUFFIXES = (".so", ".pyd", ".dylib")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


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


def krunner_version() -> str:
    """The packages' version, checked to agree with the project's (tests check the runner's)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    if (project != kernel_package.KRUNNER_VERSION
            or helpers_package.__version__ != kernel_package.__version__):
        raise BundleError(f"versions disagree: pyproject {project}, ai.backend.kernel "
                          f"{kernel_package.__version__}, ai.backend.helpers "
                          f"{helpers_package.__version__}")
    return kernel_package.__version__


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


def build(out: Path) -> Bundle:
    version = krunner_version()
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
    for folder in (kernel, helpers):
        (folder / "VERSION").write_text(version + "\n")
        if not compileall.compile_dir(folder, quiet=1, workers=1):
            raise BundleError(f"byte-compiling {folder} failed")
    dist = out / "dist"
    wheels = (
        write_wheel(dist, "backend.ai-kernel", version, site, kernel,
                    "krunner: a Backend.AI kernel runner (self-contained, mounted by the agent)"),
        write_wheel(dist, "backend.ai-kernel-helper", version, site, helpers,
                    "krunner's kernel-helper package for user code"),
    )
    return Bundle(site, kernel, helpers, version, tuple(vendored), wheels)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bundle", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "build" / "bundle")
    args = p.parse_args(argv)
    try:
        bundle = build(args.out)
    except (BundleError, OSError, importlib.metadata.PackageNotFoundError) as e:
        print(f"bundle: {e}", file=sys.stderr)
        return 1
    print(f"built krunner {bundle.version} into {bundle.site_packages}", file=sys.stderr)
    print(f"vendored: {', '.join(bundle.vendored)}", file=sys.stderr)
    for wheel in bundle.wheels:
        print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
