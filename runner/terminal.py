"""The git runtime's terminal (PROTOCOL §8): the user's shell on a real pty, over ZeroMQ.

Keystrokes arrive on a SUB socket (2002) and go to the pty; what the shell writes goes out on a
PUB socket (2003). The shell's life is the terminal machine's
(machines/terminal.py): this module only acts on its moves (runner/effects/terminal.py: spawn,
restart after the back-off, give up, hang up) and emits what it sees as observations of the
`terminal` source; it never decides whether or when a shell is restarted. When a shell ends,
the rest of its session is hung up and its pty released. Keystrokes and screen bytes are not
recorded (a typed password cannot be told apart from a command).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import struct
import termios
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from machines import vocabulary as v
from machines.base import Transitioned
from machines.events import TERMINAL
from machines.terminal import SUPERVISION
from runner.effects import enter
from runner.effects import terminal as terminal_effects
from runner.sockets import bind
from transcripts.events import OBSERVATION, Event, stamped

log = logging.getLogger("krunner")
READ_SIZE = 65536
KEYS_PENDING_LIMIT = 1 << 20  # keystrokes held while the shell does not read (a huge paste)
HANGUP_GRACE = 1.0  # seconds from SIGHUP to SIGKILL for what is left of a session (the
#                    runner's shutdown gives the whole terminal 1.5 s: runner/core.py)
STOP_GRACE = 0.5  # the same when the runner stops: what ignores SIGHUP is killed sooner
RESTARTING = b"Restarting...\r\n"
# `sh` is the session leader (start_new_session), so opening the pty by name makes it the
# controlling terminal; then it becomes the shell: job control and Ctrl-C work as in a terminal.
ATTACH_TTY = 'exec "$@" <"$0" >"$0" 2>&1'

Emit = Callable[[Event], None]
State = Callable[[], str | None]  # the terminal machine's state (None: not created yet)


def session_members(sid: int) -> list[int]:
    """Pids of every live process in session `sid` (the shell and all it started); an
    orphan's zombie waits for the runner's reaper (runner/subreaper.py) but is dead."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in (b"Z", b"X"):  # zombies are gone
            pids.append(int(entry.name))
    return pids


def signal_session(sid: int, signum: int) -> None:
    for pid in session_members(sid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def set_size(fd: int, rows: int, cols: int) -> tuple[int, int]:
    """Set the pty's window size (the foreground job gets SIGWINCH); the size it now has."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    got = fcntl.ioctl(fd, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
    new_rows, new_cols, _, _ = struct.unpack("HHHH", got)
    return new_rows, new_cols


@dataclass(slots=True)
class Shell:
    """One shell incarnation: its process (a session leader) and the master side of its pty."""

    proc: asyncio.subprocess.Process
    master: int
    tty: str
    started: float

    @classmethod
    async def start(cls, argv: list[str], *, env: dict[str, str], cwd: Path,
                    size: tuple[int, int]) -> Shell:
        master, slave = os.openpty()
        try:
            set_size(master, *size)
            tty = os.ttyname(slave)
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", ATTACH_TTY, tty, *argv, stdin=slave, stdout=slave,
                stderr=slave, env=env, cwd=cwd, start_new_session=True)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # only the shell holds it: its end makes the master read fail
        os.set_blocking(master, False)
        return cls(proc, master, tty, time.monotonic())

    def cwd(self) -> Path | None:
        try:
            return Path(os.readlink(f"/proc/{self.proc.pid}/cwd"))
        except OSError:
            return None

    async def end(self, first_signal: int = signal.SIGHUP, grace: float = HANGUP_GRACE
                  ) -> None:
        """Hang up the whole session (SIGHUP, then SIGKILL after `grace` seconds)."""
        sid = self.proc.pid
        signal_session(sid, first_signal)
        signal_session(sid, signal.SIGCONT)  # stopped jobs must run to see the hangup
        deadline = time.monotonic() + grace
        while session_members(sid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        signal_session(sid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await self.proc.wait()


class Terminal:
    """The pty and its two sockets; does what the terminal machine's moves call for."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path, emit: Emit,
                 state: State, ports: tuple[int, int], host: str = "*") -> None:
        self._argv = argv
        self._host = host
        self._env = env
        self._cwd = cwd
        self._emit = emit
        self._state = state
        self._ports = ports
        self._zctx = zmq.asyncio.Context.instance()
        self._keys_sock: zmq.asyncio.Socket | None = None
        self._screen_sock: zmq.Socket | None = None
        self._shell: Shell | None = None
        self._shell_gone = asyncio.Event()
        self._pending_keys = bytearray()
        self._size = (24, 80)
        self._tasks: set[asyncio.Task[None]] = set()  # all this terminal started
        self._spawning: asyncio.Task[None] | None = None
        self._restart: asyncio.Task[None] | None = None  # the back-off timer
        self._ended = asyncio.Event()  # the machine is stopped
        self.bound: tuple[int, int] = (0, 0)
        self.screen_bytes = 0

    @property
    def shell(self) -> Shell | None:
        return self._shell

    async def start(self) -> None:
        """Bind both sockets; the machine's `starting` spawns the first shell, awaited here."""
        keys = self._zctx.socket(zmq.SUB)
        keys.setsockopt(zmq.SUBSCRIBE, b"")
        screen = zmq.Context.instance().socket(zmq.PUB)
        self._keys_sock, self._screen_sock = keys, screen
        self.bound = (bind(keys, self._ports[0], self._host),
                      bind(screen, self._ports[1], self._host))
        self._own(self._read_keys(), "terminal-keys")
        self._emit(stamped(TERMINAL, OBSERVATION, v.TERMINAL_BOUND, v.TerminalBound(
            keystrokes=self.bound[0], screen=self.bound[1],
            stable_after=SUPERVISION["stable_after"], backoff_base=SUPERVISION["backoff_base"],
            backoff_max=SUPERVISION["backoff_max"],
            give_up_after=int(SUPERVISION["give_up_after"]))))
        if self._spawning is not None:
            await self._spawning

    def on_transition(self, t: Transitioned) -> None:
        """A move of the terminal machine: its effect table says what to do."""
        enter(terminal_effects.EFFECTS, self, t)

    def _own(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- effects (runner/effects/terminal.py) -------------------------------------------
    def spawn_shell(self, t: Transitioned) -> None:
        self._spawning = self._own(self._spawn(), "terminal-spawn")

    def restart_later(self, t: Transitioned) -> None:
        self._publish(RESTARTING)
        data = t.data if isinstance(t.data, dict) else {}
        self._restart = self._own(self._restart_after(float(data.get("delay", 0.0)),
                                                      int(data.get("quick_ends", 0))),
                                  "terminal-backoff")

    def give_up(self, t: Transitioned) -> None:
        reason = t.data.get("reason") if isinstance(t.data, dict) else None
        log.warning("the terminal's shell is not restarted: %s", reason)
        self._publish(f"\r\nkrunner: the shell is not restarted: {reason}.\r\n"
                      "Press Enter to start it again.\r\n".encode())

    def hang_up(self, t: Transitioned) -> None:
        self._own(self._hang_up(), "terminal-hangup")

    def ended(self, t: Transitioned) -> None:
        if self._restart is not None:
            self._restart.cancel()
        self._ended.set()

    # --- what the effects start ---------------------------------------------------------
    async def _spawn(self) -> None:
        try:
            shell = await Shell.start(self._argv, env=self._env, cwd=self._cwd,
                                      size=self._size)
        except (OSError, ValueError) as e:  # no pty left, a bad folder or environment
            self._emit(stamped(TERMINAL, OBSERVATION, v.SHELL_START_FAILED,
                               v.Reason(reason=str(e))))
            return
        self._shell = shell
        self._shell_gone.clear()
        self._pending_keys.clear()
        asyncio.get_running_loop().add_reader(shell.master, self._on_screen, shell)
        self._own(self._watch(shell), "terminal-shell")
        self._emit(stamped(TERMINAL, OBSERVATION, v.SHELL_STARTED, v.ShellStarted(
            pid=shell.proc.pid, tty=shell.tty, argv=self._argv)))

    async def _watch(self, shell: Shell) -> None:
        """Wait for the shell to end; hang up what it left; say how long it lived."""
        code = await shell.proc.wait()
        await self._close(shell)
        lived = time.monotonic() - shell.started
        self._emit(stamped(TERMINAL, OBSERVATION, v.SHELL_EXITED, v.ShellExited(
            pid=shell.proc.pid, exit_code=code, lived_s=round(lived, 3))))

    async def _restart_after(self, delay: float, quick_ends: int) -> None:
        await asyncio.sleep(delay)
        self._emit(stamped(TERMINAL, OBSERVATION, v.SHELL_RESTARTING,
                           v.ShellRestarting(delay=delay, quick_ends=quick_ends)))

    async def _hang_up(self) -> None:
        """End the shell's session; a spawn under way is let finish first, then ended."""
        if self._spawning is not None:
            await asyncio.wait([self._spawning])
        shell = self._shell
        if shell is not None and shell.proc.returncode is None:  # else its watcher hangs up
            await shell.end(grace=STOP_GRACE)

    async def _close(self, shell: Shell) -> None:
        """The shell ended: hang up what it left, send its last output, release the pty."""
        await shell.end()
        with contextlib.suppress(asyncio.TimeoutError):  # the last screen bytes, then EIO
            await asyncio.wait_for(self._shell_gone.wait(), 1.0)
        self._detach(shell)

    def _detach(self, shell: Shell) -> None:
        if shell.master < 0:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(shell.master)
        loop.remove_writer(shell.master)
        with contextlib.suppress(OSError):
            os.close(shell.master)
        shell.master = -1  # the number may be reused at once: never close it twice

    # --- the screen and the keys ----------------------------------------------------------
    def _on_screen(self, shell: Shell) -> None:
        try:
            data = os.read(shell.master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # EIO: nobody holds the pty any more
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(shell.master)
            self._shell_gone.set()
            return
        self.screen_bytes += len(data)
        self._publish(data)

    def _publish(self, data: bytes) -> None:
        if self._screen_sock is not None:
            with contextlib.suppress(zmq.Again):  # PUB drops for slow viewers, never blocks
                self._screen_sock.send(data, flags=zmq.NOBLOCK)

    async def _read_keys(self) -> None:
        assert self._keys_sock is not None
        while True:
            frames = await self._keys_sock.recv_multipart()
            if frames and frames[0]:
                self._type(frames[0])

    def _type(self, data: bytes) -> None:
        if self._state() == "fatal":
            if b"\r" in data or b"\n" in data:
                self._emit(stamped(TERMINAL, OBSERVATION, v.SHELL_START_REQUESTED, {}))
            return
        shell = self._shell
        if shell is None or self._shell_gone.is_set():
            return
        room = KEYS_PENDING_LIMIT - len(self._pending_keys)
        self._pending_keys += data[:max(room, 0)]
        self._flush_keys(shell)

    def _flush_keys(self, shell: Shell) -> None:
        loop = asyncio.get_running_loop()
        try:
            written = os.write(shell.master, self._pending_keys) if self._pending_keys else 0
        except BlockingIOError:
            written = 0
        except OSError:
            self._pending_keys.clear()
            written = 0
        del self._pending_keys[:written]
        if self._pending_keys:
            loop.add_writer(shell.master, self._flush_keys, shell)
        else:
            loop.remove_writer(shell.master)

    def resize(self, rows: int, cols: int) -> tuple[int, int]:
        """Set the window size of the current (and every later) pty."""
        self._size = (rows, cols)
        if self._shell is None or self._shell_gone.is_set():
            return self._size
        got = set_size(self._shell.master, rows, cols)
        self._emit(stamped(TERMINAL, OBSERVATION, v.TERMINAL_RESIZED,
                           v.TerminalResized(rows=got[0], cols=got[1])))
        return got

    async def shutdown(self) -> None:
        """Stop the machine (the shell and its session end), then close both sockets; the
        sockets close also when the runner's shutdown cuts this short."""
        try:
            if self._state() not in (None, "stopped"):
                self._emit(stamped(TERMINAL, OBSERVATION, v.TERMINAL_STOP_REQUESTED,
                                   v.Reason(reason="the runner shuts down")))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._ended.wait(), HANGUP_GRACE + 3)
        finally:
            self._release()

    def _release(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._shell is not None:
            self._detach(self._shell)
        for sock in (self._keys_sock, self._screen_sock):
            if sock is not None:
                sock.close(linger=0)
