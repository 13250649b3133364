"""Each run of a session, gathered from its events as they stream past: its op, code, input,
output (kept up to a bound; the rest stays in the events pages), states and exit code.

A run is written out (its details to the run pages, a line to the index) a while after it
ended, so the terminal message recorded after its last move still joins it; memory holds
the runs in flight, not the session. Pure bookkeeping: it must never read or write files.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from machines.run import FINAL
from machines.vocabulary import RUN_OPS

KEEP = 64 * 1024  # characters of a run's code, input or output kept for its panel
LINGER = 64  # ended runs kept open for late events (the terminal message)
Index = list[Any]  # source, op, start, end, exit code, state, page, position, first seq


@dataclass(slots=True)
class Run:
    source: str
    seq: int
    op: str | None = None
    code: str = ""
    inputs: list[str] = field(default_factory=list)
    output: list[list[str]] = field(default_factory=list)  # [stream, text], merged
    kept: int = 0
    dropped: int = 0  # characters of output not kept
    states: list[list[Any]] = field(default_factory=list)  # [wall, state]
    start: float | None = None
    end: float | None = None
    exit: int | None = None

    def details(self) -> dict[str, Any]:
        return {"source": self.source, "op": self.op, "code": self.code,
                "inputs": self.inputs, "output": self.output, "dropped": self.dropped,
                "states": self.states, "exit": self.exit}

    def add_output(self, stream: str, text: str) -> None:
        room = KEEP - self.kept
        if room <= 0:
            self.dropped += len(text)
            return
        if len(text) > room:
            self.dropped += len(text) - room
            text = text[:room]
        self.kept += len(text)
        if self.output and self.output[-1][0] == stream:
            self.output[-1][1] += text
        else:
            self.output.append([stream, text])


class Runs:
    """Runs in flight; `emit(details) -> (page, position)` takes each one finished with."""

    def __init__(self, emit: Callable[[dict[str, Any]], tuple[int, int]]) -> None:
        self.emit = emit
        self.open: dict[str, Run] = {}
        self.ended: OrderedDict[str, Run] = OrderedDict()
        self.index: list[Index] = []

    def event(self, seq: int, wall: float, source: str, kind: str, name: str,
              to_state: str | None, text: str, data: dict[str, Any] | None) -> None:
        run = self.open.get(source) or self.ended.get(source)
        if run is None:
            run = self.open[source] = Run(source, seq, start=wall)
        if kind == "input":
            if name in RUN_OPS and run.op is None:
                run.op, run.code = name, text[:KEEP]
            else:
                run.inputs.append(text[:KEEP])
        elif kind == "output":
            run.add_output(name, text)
        elif kind == "transition" and to_state is not None:
            run.states.append([wall, to_state])
            if to_state in FINAL:
                run.end = wall
                if data is not None and isinstance(data.get("exit_code"), int):
                    run.exit = data["exit_code"]
                self._ended(run)

    def _ended(self, run: Run) -> None:
        if self.open.pop(run.source, None) is None:
            return
        self.ended[run.source] = run
        if len(self.ended) > LINGER:
            self._write(self.ended.popitem(last=False)[1])

    def _write(self, run: Run) -> None:
        page, position = self.emit(run.details())
        state = run.states[-1][1] if run.states else None
        self.index.append([run.source, run.op, run.start, run.end, run.exit, state, page,
                           position, run.seq])

    def finish(self) -> list[Index]:
        """Write out every run left; the index in the order the runs began."""
        for run in [*self.ended.values(), *self.open.values()]:
            self._write(run)
        self.ended.clear()
        self.open.clear()
        self.index.sort(key=lambda entry: entry[-1])
        return self.index
