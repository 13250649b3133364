"""Every machine's table as data: a fingerprint to check in, a Mermaid diagram to publish.

`tests/golden/tables.json` keeps the fingerprints and `docs/design.md` the diagrams; tests
compare both with what is computed here, so a table change is always a visible diff. Pure:
it builds strings from the tables and must not read or write a file.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from transitions.extensions import GraphMachine

from machines.base import NEW, Lifecycle
from machines.kernel import Kernel
from machines.model_health import ModelHealth
from machines.run import Run
from machines.service import Service
from machines.terminal import TerminalShell

MACHINES: dict[str, type[Lifecycle]] = {
    "kernel": Kernel, "run": Run, "service": Service, "model_health": ModelHealth,
    "terminal": TerminalShell}


def table(machine: type[Lifecycle]) -> dict[str, Any]:
    """States and transitions, as declared."""
    return {"states": list(machine.STATES), "transitions": machine.TRANSITIONS}


def fingerprint(machine: type[Lifecycle]) -> str:
    """SHA-256 of the table in canonical JSON: changes exactly when the table does."""
    canonical = json.dumps(table(machine), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def fingerprints() -> dict[str, str]:
    return {name: fingerprint(machine) for name, machine in MACHINES.items()}


class _Drawn:
    """A bare model for `transitions` to draw (conditions are shown by name, never called)."""


def mermaid(machine: type[Lifecycle]) -> str:
    """The state diagram `transitions` draws from the table, without its colour classes."""
    model = _Drawn()
    GraphMachine(model=model, states=machine.STATES, transitions=machine.TRANSITIONS,
                 initial=NEW, auto_transitions=False, graph_engine="mermaid",
                 show_conditions=True)
    drawn = model.get_graph().draw(None)  # type: ignore[attr-defined]
    body = drawn.split("stateDiagram-v2", 1)[1]
    lines = [line.rstrip() for line in body.splitlines()
             if line.strip() and not line.strip().startswith(("classDef", "Class "))]
    return "\n".join(["stateDiagram-v2", *lines]) + "\n"
