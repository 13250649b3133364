"""The real runner with a fault injected into its op table: a bug nobody foresaw, on demand.

`python -m tests.faulty_runner LANG ...` runs `runner` unchanged except that the `complete`
handler raises for code `raise-before` (before its reply is on its way) and `raise-after`
(after), and the `event` handler raises for type `raise`. The front-end guard test uses it to
show that such a bug costs one frame, loudly, and never the front end.
"""

from __future__ import annotations

import sys
from typing import Any

from runner.__main__ import main
from runner.effects import ops


class InjectedFault(RuntimeError):
    """The fault this runner was started to have."""


def _inject() -> None:
    complete, event = ops.OPS["complete"], ops.OPS["event"]

    def faulty_complete(host: Any, source: str, code: str) -> None:
        if code == "raise-before":
            raise InjectedFault("before the reply")
        complete(host, source, code)
        if code == "raise-after":
            raise InjectedFault("after the reply")

    def faulty_event(host: Any, source: str, data: dict[str, Any]) -> None:
        if data.get("type") == "raise":
            raise InjectedFault("in a silent op")
        event(host, source, data)

    ops.OPS["complete"], ops.OPS["event"] = faulty_complete, faulty_event


if __name__ == "__main__":
    _inject()
    sys.exit(main())
