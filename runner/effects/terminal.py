"""The terminal machine's effect table: what the runner does on entering each shell state.

`machines/terminal.py` says when the shell's state changes; each handler here hands the move
to the `Terminal` (runner/terminal.py), which acts and emits observations; none decides a
state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from machines.base import Transitioned


class TerminalHost(Protocol):
    """The terminal as its machine's effects see it."""

    def spawn_shell(self, t: Transitioned) -> None: ...
    def restart_later(self, t: Transitioned) -> None: ...
    def give_up(self, t: Transitioned) -> None: ...
    def hang_up(self, t: Transitioned) -> None: ...
    def ended(self, t: Transitioned) -> None: ...


def _spawn(host: TerminalHost, t: Transitioned) -> None:
    """Start a shell on a fresh pty (ShellStarted, or ShellStartFailed) and watch it."""
    host.spawn_shell(t)


def _restart_later(host: TerminalHost, t: Transitioned) -> None:
    """Say `Restarting...` on the screen; after the machine's delay, ShellRestarting."""
    host.restart_later(t)


def _give_up(host: TerminalHost, t: Transitioned) -> None:
    """Tell the screen why the shell is not restarted; Enter starts it again."""
    host.give_up(t)


def _hang_up(host: TerminalHost, t: Transitioned) -> None:
    """Hang up the shell's whole session (SIGHUP, grace, SIGKILL); its exit ends it."""
    host.hang_up(t)


def _ended(host: TerminalHost, t: Transitioned) -> None:
    """Nothing runs or restarts: a pending restart is dropped, the shutdown goes on."""
    host.ended(t)


EFFECTS: dict[str, Callable[[TerminalHost, Transitioned], None]] = {
    "starting": _spawn,
    "backoff": _restart_later,
    "fatal": _give_up,
    "stopping": _hang_up,
    "stopped": _ended,
}
