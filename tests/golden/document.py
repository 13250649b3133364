"""The parts of `docs/design.md` generated from the code: diagrams, routes, effect tables.

Each part sits between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`; `refreshed`
rewrites them all from the tables, and `tests/test_golden.py` fails when the committed
document differs from what they would be now (`python -m tests.golden.record --tables-only`
rewrites them).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from machines import tables
from machines.registry import CREATORS, ROUTES
from runner.effects import kernel as kernel_effects
from runner.effects import model_health as model_effects
from runner.effects import ops
from runner.effects import run as run_effects
from runner.effects import service as service_effects
from runner.effects import terminal as terminal_effects

OPEN, CLOSE = "<!-- generated:{} -->", "<!-- /generated:{} -->"
ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("machines", "transcripts", "runner", "tools")


def module_docstrings() -> dict[str, str | None]:
    """Every module of the four layers, and its docstring (None where it has none)."""
    found = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name] = ast.get_docstring(ast.parse(path.read_text()))
    return found


def _routes() -> str:
    lines = ["| stream | event kind | event name | trigger |", "|---|---|---|---|"]
    for (stream, kind, name), trigger in ROUTES.items():
        creates = " (creates the machine)" if CREATORS[stream] == trigger else ""
        lines.append(f"| `{stream}` | {kind} | `{name}` | `{trigger}`{creates} |")
    return "\n".join(lines) + "\n"


def _effects(table: Mapping[str, Callable[..., Any]], key: str = "entering"
             ) -> Callable[[], str]:
    def render() -> str:
        lines = [f"| {key} | handler | what the runner does |", "|---|---|---|"]
        for state, handler in table.items():
            what = (inspect.getdoc(handler) or "").splitlines()[0]
            lines.append(f"| `{state}` | `{handler.__name__}` | {what} |")
        return "\n".join(lines) + "\n"
    return render


def _diagram(name: str) -> Callable[[], str]:
    return lambda: f"```mermaid\n{tables.mermaid(tables.MACHINES[name])}```\n"


PARTS: dict[str, Callable[[], str]] = {
    **{f"diagram:{name}": _diagram(name) for name in tables.MACHINES},
    "routes": _routes,
    "effects:kernel": _effects(kernel_effects.EFFECTS),
    "effects:run": _effects(run_effects.EFFECTS),
    "effects:service": _effects(service_effects.EFFECTS),
    "effects:model_health": _effects(model_effects.EFFECTS),
    "effects:terminal": _effects(terminal_effects.EFFECTS),
    "ops": _effects(ops.OPS, key="op"),
}


def refreshed(text: str) -> str:
    """The document with every generated part as the code says it is now."""
    for name, render in PARTS.items():
        opening, closing = OPEN.format(name), CLOSE.format(name)
        head, found, rest = text.partition(opening)
        if not found:
            raise LookupError(f"the design document has no {opening}")
        _, found, tail = rest.partition(closing)
        if not found:
            raise LookupError(f"the design document does not close {opening} by {closing}")
        text = f"{head}{opening}\n{render()}{closing}{tail}"
    return text
