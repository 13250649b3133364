"""The kernel-helper package user code imports as `ai.backend.helpers` (PROTOCOL §10.2)."""

from ai.backend.helpers.package import install

__all__ = ("install",)
__version__ = "23.9.10+krunner.0.1.0"
