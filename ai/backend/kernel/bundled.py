"""Puts krunner's bundled packages on `sys.path` when this folder is a built bundle.

`_krunner/` (krunner's own packages) goes first, so nothing in the volume shadows them;
`_vendor/` (pure-Python dependencies) goes last, so a library the volume already has is used
as the volume has it. The working folder (`/home/work`, which `python -m` puts first) is
taken off the path, so a user's `runner.py` or `machines/` cannot stand in for krunner's.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OWN = os.path.join(HERE, "_krunner")
VENDORED = os.path.join(HERE, "_vendor")


def add_bundled_paths() -> bool:
    """True if this is a bundle (its paths are now on sys.path), False in a source tree."""
    if not os.path.isdir(OWN):
        return False
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", cwd)]
    if OWN not in sys.path:
        sys.path.insert(0, OWN)
    if VENDORED not in sys.path:
        sys.path.append(VENDORED)
    return True
