"""The stdin a run's program reads: a terminal, as when a user runs it (a pipe if none can be had).

Programs decide by it. Node.js on a pipe keeps reading after `rl.close()` and never ends; on a
terminal it stops reading and ends. `read -s`, getpass() and `stty -echo` turn a terminal's
echo off, and that is how the runner tells that the answer it is about to feed is a secret.

The runner holds the pty's master (and a descriptor of the slave, to count what is still
unread); the child gets the slave as fd 0, never as its controlling terminal (no job-control
signals; `/dev/tty` stays unavailable, as before). The line discipline passes bytes as a pipe
would: no canonical mode (no 4095-byte line limit, no ^D/^U editing), no signals from ^C, no
CR/NL translation, no flow control. Echo stays on as in a terminal; what it echoes is read and
dropped (the agent shows what its user typed; stdout and stderr stay pipes). Nothing here
decides when to ask: runner/stdin_watch.py does.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import termios

CLEARED_IFLAG = (termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                 | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON | termios.IXOFF)
CLEARED_LFLAG = termios.ICANON | termios.ISIG | termios.IEXTEN
IFLAG, LFLAG = 0, 3  # indexes in tcgetattr's list
DRAIN = 4096


class ChildStdin:
    """The runner's side of one child's stdin: what it is, what waits in it, how to write."""

    def __init__(self, writer: int, probe: int, is_tty: bool) -> None:
        self._writer = writer  # the pty master, or the pipe's write end
        self._probe = probe  # a descriptor of what the child reads: the slave, or the pipe
        self.is_tty = is_tty
        self.link = os.readlink(f"/proc/self/fd/{probe}")  # as /proc/<pid>/fd of a reader shows
        self._draining = False
        self.closed = False

    @classmethod
    def create(cls) -> tuple[ChildStdin, int]:
        """A new stdin: the runner's side, and the descriptor to give the child (then close)."""
        try:
            master, slave = os.openpty()
        except OSError:  # no /dev/ptmx, or out of ptys: a pipe still feeds lines
            read_end, write_end = os.pipe()
            os.set_blocking(write_end, False)
            return cls(write_end, write_end, is_tty=False), read_end
        attrs = termios.tcgetattr(slave)
        attrs[IFLAG] = (attrs[IFLAG] & ~CLEARED_IFLAG) | getattr(termios, "IUTF8", 0)
        attrs[LFLAG] = (attrs[LFLAG] & ~CLEARED_LFLAG) | termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        os.set_blocking(master, False)
        return cls(master, os.dup(slave), is_tty=True), slave

    def open(self) -> None:
        """Start dropping the echo (on the running loop); a pipe has none."""
        if self.is_tty and not self.closed:
            asyncio.get_running_loop().add_reader(self._writer, self._drop_echo)
            self._draining = True

    def _drop_echo(self) -> None:
        try:
            os.read(self._writer, DRAIN)
        except BlockingIOError:
            pass
        except OSError:  # EIO: nothing holds the slave any more
            self._stop_draining()

    def _stop_draining(self) -> None:
        if self._draining:
            asyncio.get_running_loop().remove_reader(self._writer)
            self._draining = False

    def unread(self) -> int:
        """Bytes fed but not read yet by the program."""
        if self.closed:
            return 0
        try:
            raw = fcntl.ioctl(self._probe, termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return 0
        return struct.unpack("i", raw)[0]

    def hides_input(self) -> bool:
        """Whether the program turned the terminal's echo off (`read -s`, getpass, ...)."""
        if not self.is_tty or self.closed:
            return False
        try:
            return not termios.tcgetattr(self._writer)[LFLAG] & termios.ECHO
        except termios.error:
            return False

    async def feed(self, text: str) -> None:
        """One line to the program (dropped if it is gone or its stdin was closed)."""
        data = memoryview(text.encode("utf-8") + b"\n")
        while data and not self.closed:
            try:
                data = data[os.write(self._writer, data):]
            except BlockingIOError:
                await asyncio.sleep(0.01)  # full: the program reads slowly
            except OSError:
                return

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(RuntimeError):  # the loop is already gone
            self._stop_draining()
        for fd in {self._writer, self._probe}:
            with contextlib.suppress(OSError):
                os.close(fd)
