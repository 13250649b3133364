"""The git runtime's terminal (PROTOCOL §8): the user's shell on a real pty, over ZeroMQ.

Keystrokes arrive on a SUB socket (2002) and go to the pty; what the shell writes goes out on a
PUB socket (2003). When the shell ends, the rest of its session is hung up, `Restarting...` is
published and a fresh shell starts on a fresh pty. Keystrokes and screen bytes are not recorded
(a typed password cannot be told apart from a command); the shell's life is, as observations of
the `terminal` source.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.asyncio

from transcripts.events import OBSERVATION, Event, stamped

TERMINAL = "terminal"  # event source of the shell's life
READ_SIZE = 65536
KEYS_PENDING_LIMIT = 1 << 20  # keystrokes held while the shell does not read (a huge paste)
HANGUP_GRACE = 2.0  # seconds between SIGHUP and SIGKILL for what is left of a session
RESTARTING = b"Restarting...\r\n"
# `sh` is the session leader (start_new_session), so opening the pty by name makes it the
# controlling terminal; then it becomes the shell: job control and Ctrl-C work as in a terminal.
ATTACH_TTY = 'exec "$@" <"$0" >"$0" 2>&1'

Emit = Callable[[Event], None]


def session_members(sid: int) -> list[int]:
    """Pids of every process in session `sid` (the shell and all it started)."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
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

    async def end(self, first_signal: int = signal.SIGHUP) -> None:
        """Hang up the whole session (SIGHUP, then SIGKILL after a grace period)."""
        sid = self.proc.pid
        signal_session(sid, first_signal)
        signal_session(sid, signal.SIGCONT)  # stopped jobs must run to see the hangup
        deadline = time.monotonic() + HANGUP_GRACE
        while session_members(sid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        signal_session(sid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await self.proc.wait()


class Terminal:
    """The pty and its two sockets; keeps a shell running until `shutdown`."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path, emit: Emit,
                 ports: tuple[int, int], host: str = "*") -> None:
        self._argv = argv
        self._host = host
        self._env = env
        self._cwd = cwd
        self._emit = emit
        self._ports = ports
        self._zctx = zmq.asyncio.Context.instance()
        self._keys_sock: zmq.asyncio.Socket | None = None
        self._screen_sock: zmq.Socket | None = None
        self._shell: Shell | None = None
        self._shell_gone = asyncio.Event()
        self._pending_keys = bytearray()
        self._size = (24, 80)
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.bound: tuple[int, int] = (0, 0)
        self.screen_bytes = 0

    @property
    def shell(self) -> Shell | None:
        return self._shell

    async def start(self) -> None:
        """Bind both sockets, start the first shell, and keep one running."""
        keys = self._zctx.socket(zmq.SUB)
        keys.setsockopt(zmq.SUBSCRIBE, b"")
        screen = zmq.Context.instance().socket(zmq.PUB)
        self._keys_sock, self._screen_sock = keys, screen
        self.bound = (_bind(keys, self._ports[0], self._host),
                      _bind(screen, self._ports[1], self._host))
        self._emit(stamped(TERMINAL, OBSERVATION, "TerminalBound",
                           {"keystrokes": self.bound[0], "screen": self.bound[1]}))
        await self._spawn()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read_keys(), name="terminal-keys"),
                       loop.create_task(self._keep_alive(), name="terminal-shell")]

    async def _spawn(self) -> None:
        shell = await Shell.start(self._argv, env=self._env, cwd=self._cwd, size=self._size)
        self._shell = shell
        self._shell_gone.clear()
        self._pending_keys.clear()
        asyncio.get_running_loop().add_reader(shell.master, self._on_screen, shell)
        self._emit(stamped(TERMINAL, OBSERVATION, "ShellStarted",
                           {"pid": shell.proc.pid, "tty": shell.tty, "argv": self._argv}))

    async def _keep_alive(self) -> None:
        """Restart the shell whenever it ends; back off if it keeps dying at once."""
        delay = 0.0
        while True:
            shell = self._shell
            assert shell is not None
            code = await shell.proc.wait()
            await self._close(shell)
            lived = time.monotonic() - shell.started
            self._emit(stamped(TERMINAL, OBSERVATION, "ShellExited",
                               {"pid": shell.proc.pid, "exit_code": code,
                                "lived_s": round(lived, 3)}))
            if self._stopping:
                return
            self._publish(RESTARTING)
            delay = 0.0 if lived > 5.0 else min(max(delay * 2, 0.25), 5.0)
            await asyncio.sleep(delay)
            await self._spawn()
            self._emit(stamped(TERMINAL, OBSERVATION, "ShellRestarted",
                               {"pid": self._shell.proc.pid if self._shell else None}))

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
        self._emit(stamped(TERMINAL, OBSERVATION, "TerminalResized",
                           {"rows": got[0], "cols": got[1]}))
        return got

    async def shutdown(self) -> None:
        """End the shell and everything in its session, close both sockets."""
        self._stopping = True
        keeper = self._tasks[1] if len(self._tasks) > 1 else None
        if self._shell is not None:
            await self._shell.end()
        if keeper is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(keeper, HANGUP_GRACE + 2)
        for task in self._tasks:
            task.cancel()
        if self._shell is not None:
            self._detach(self._shell)
        for sock in (self._keys_sock, self._screen_sock):
            if sock is not None:
                sock.close(linger=0)


def _bind(sock: zmq.Socket, port: int, host: str = "*") -> int:
    """Bind on `host` (`*`: every interface; port 0: any free one); print the line the
    original prints."""
    sock.bind(f"tcp://{host}:{port or '*'}")
    bound = int(sock.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
    print(f"binding to tcp://{host}:{bound}", flush=True)
    return bound
