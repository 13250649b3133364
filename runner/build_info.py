"""Which agent release the running krunner was built for, from its bundle's `BUILD.json`.

`python -m tools.bundle --agent-version V` writes `ai/backend/kernel/BUILD.json` (the agent
release, its runner volume, that volume's Python); the first log line and every `status`
reply name that release, so an operator sees which line a container runs. A source checkout
has no such file: it speaks the protocol of backend.ai-kernel 23.9.10. Read once; nothing
here may fail the runner (an unreadable file counts as a source checkout).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

SOURCE_LINE = "backend.ai-kernel 23.9.10 protocol, source checkout"


@functools.cache
def build() -> dict[str, Any]:
    """The bundle's build record, or {} outside a bundle."""
    try:
        spec = importlib.util.find_spec("ai.backend.kernel")
        if spec is None or spec.origin is None:
            return {}
        return dict(json.loads((Path(spec.origin).parent / "BUILD.json").read_text()))
    except (OSError, ValueError, ImportError, TypeError):
        return {}


def agent_line() -> str:
    """E.g. `backend.ai-agent 24.3.11, volume backend.ai-krunner-static-gnu 4.3.0`."""
    built = build()
    if "agent" not in built:
        return SOURCE_LINE
    return f"backend.ai-agent {built['agent']}, volume {built.get('volume', 'unknown')}"


@functools.cache
def status_fields() -> dict[str, str]:
    """What `status` adds to the original's `started_at` (the agent reads only that key)."""
    built = build()
    return {"runner": "krunner", "built_for": f"backend.ai-agent {built['agent']}"
            if "agent" in built else SOURCE_LINE}
