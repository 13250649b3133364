"""The kernel-helper package user code imports as `ai.backend.helpers` (PROTOCOL §10.2)."""

from os import path as _path

from ai.backend.helpers.package import install

__all__ = ("install",)


def _version() -> str:
    """The bundle's `VERSION` (it names the agent release it was built for), else the source's."""
    try:
        with open(_path.join(_path.dirname(__file__), "VERSION")) as f:
            return f.read().strip()
    except OSError:
        return "23.9.10+krunner.0.1.0"


__version__ = _version()
