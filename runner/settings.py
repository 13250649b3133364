"""The runner's numeric `KRUNNER_*` settings, read in the units people write.

An image or an agent's `environ.txt` may say `KRUNNER_LOG_MAX_SIZE=2GB`, `8M`, `512 MiB`, or
`KRUNNER_LOG_MAX_AGE=1w`, `90d`, `1500ms`. `normalise` rewrites each known setting into the
plain number its reader takes (bytes, seconds, a count, a port), so every reader sees the
same value; one that cannot be read is removed, with a warning naming it, and its default
applies: a typo in an image never stops the runner before it answers `status`.

Sizes: a number and B, K, KB, KiB, M, MB, MiB, G, GB, GiB, T, TB, TiB (any case). K, M, G,
T and the `iB` forms are powers of 1024; KB, MB, GB, TB powers of 1000. Durations: a number
(seconds) and ms, s, m, h, d, w (also sec, min, hr, day(s), week(s)). Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import MutableMapping
from typing import Literal

Kind = Literal["size", "duration", "count", "port"]
SETTINGS: dict[str, Kind] = {
    "KRUNNER_LOG_MAX_SIZE": "size",
    "KRUNNER_LOG_MAX_AGE": "duration",
    "KRUNNER_RECORD_OUTPUT_LIMIT": "size",
    "KRUNNER_SERVICE_START_WINDOW": "duration",
    "KRUNNER_SERVICE_START_RETRIES": "count",
    "KRUNNER_SERVICE_BACKOFF_BASE": "duration",
    "KRUNNER_SERVICE_BACKOFF_MAX": "duration",
    "KRUNNER_SERVICE_LAUNCH_TIMEOUT": "duration",
    "KRUNNER_TERMINAL_IN_PORT": "port",
    "KRUNNER_TERMINAL_OUT_PORT": "port",
}
SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
              "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
              "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
DURATION_UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "secs": 1.0, "m": 60.0,
                  "min": 60.0, "mins": 60.0, "h": 3600.0, "hr": 3600.0, "hrs": 3600.0,
                  "d": 86400.0, "day": 86400.0, "days": 86400.0, "w": 604800.0,
                  "week": 604800.0, "weeks": 604800.0}
EXAMPLES = {"size": "512M, 2GiB, 8 MB", "duration": "90, 1500ms, 30s, 12h, 1w",
            "count": "3", "port": "2002"}
_AMOUNT = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*")


def read(kind: Kind, text: str) -> float | int | None:
    """The value in bytes, seconds, a count or a port number; None if it cannot be read."""
    match = _AMOUNT.fullmatch(text)
    if match is None:
        return None
    number, unit = float(match[1]), match[2].lower()
    if kind == "size" and unit in SIZE_UNITS:
        value = number * SIZE_UNITS[unit]
        return int(value) if math.isfinite(value) and value < 1 << 62 else None
    if kind == "duration" and unit in DURATION_UNITS:
        value = number * DURATION_UNITS[unit]
        return value if math.isfinite(value) and value <= 1e12 else None
    if kind in ("count", "port") and not unit and number.is_integer():
        if kind == "port" and number > 65535:
            return None
        return int(number) if number < 1 << 31 else None
    return None


def normalise(environ: MutableMapping[str, str]) -> list[str]:
    """Rewrite every known setting in `environ` as a plain number, or drop it; the warnings."""
    warnings = []
    for name, kind in SETTINGS.items():
        text = environ.get(name)
        if text is None or not text.strip():
            continue
        value = read(kind, text)
        if value is None:
            del environ[name]
            warnings.append(f"{name}={text[:80]!r} cannot be read as a {kind} "
                            f"(e.g. {EXAMPLES[kind]}); the default is used")
        else:
            environ[name] = _plain(value)
    return warnings


def _plain(value: float | int) -> str:
    """A number every reader takes: digits, with a decimal point only if needed."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")
