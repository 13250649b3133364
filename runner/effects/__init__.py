"""What the runner does when a machine enters a state: one effect table per machine.

The transition tables in `machines/` say when states change; the tables here say what the
runner does about it (send a frame, start work, restart a kernel). Each module maps a state
to one handler and holds nothing else but those handlers.
"""

from collections.abc import Callable, Mapping
from typing import Any

from machines.base import Transitioned


def enter(effects: Mapping[str, Callable[..., None]], host: Any, t: Transitioned,
          *subject: Any) -> None:
    """Do what entering `t.to_state` calls for (nothing, for states without an entry)."""
    handler = effects.get(t.to_state)
    if handler is not None:
        handler(host, *subject, t)
