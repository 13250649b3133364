"""The task log the manager serves: a copy of every batch child's stdout and stderr.

As the original (PROTOCOL §1.4, §5.1): when `<work>/.logs` is a folder (a user storage folder
named `.logs`, mounted into every session of its owner), the output of each clean, build and
exec step is appended, both streams as they come, to
`<work>/.logs/task/<h[0:2]>/<h[2:4]>/<h[4:]>.log`, `h` being the hex of the UUID in
`BACKENDAI_KERNEL_ID`; the manager's task-log API reads that file after the session ends.

The copy never sits on the output path: a chunk is handed to one writer thread per step (a
queue put), which creates the folders, opens the file and appends. It must not block the
event loop, nor raise into the output path; if the storage falls more than `BACKLOG` behind,
chunks are left out of the copy and a line in it says how many bytes (the agent still gets
every byte).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

log = logging.getLogger("krunner")
Sink = Callable[[str, bytes], None]
BACKLOG = 64 << 20  # bytes queued for a slow storage folder before chunks are left out
GATHER = 0.005  # seconds the writer lets chunks gather after a wake-up
MAX_CHUNKS = 512  # chunks in one writev (IOV_MAX is 1024)


def task_log_path(work_dir: Path, kernel_id: str) -> Path:
    """Where the original puts it; ValueError if the kernel id is not a UUID."""
    h = uuid.UUID(kernel_id).hex
    return work_dir / ".logs" / "task" / h[0:2] / h[2:4] / f"{h[4:]}.log"


class TaskLogCopy:
    """One step's copy of its output, appended by a writer thread (after the previous step's
    writer has finished, so steps stay in order in the file)."""

    _latest: TaskLogCopy | None = None  # set on the event loop only

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._queued = 0  # written by the event loop only
        self._written = 0  # written by the writer thread only
        self._left_out = 0
        self._loop = asyncio.get_running_loop()
        self._before, TaskLogCopy._latest = TaskLogCopy._latest, self
        # not a daemon: the copy's tail is written before the runner's process exits
        self._thread = threading.Thread(target=self._write_all, name="krunner task log")
        self._thread.start()

    def write(self, chunk: bytes) -> None:
        if self._queued - self._written > BACKLOG:
            self._left_out += len(chunk)
            return
        self._note_left_out()
        self._queued += len(chunk)
        self._queue.put(chunk)

    def close(self) -> None:
        self._note_left_out()
        self._queue.put(None)

    def _note_left_out(self) -> None:
        if self._left_out:
            note = (b"\n[krunner: %d bytes of output are not in this task log: its storage "
                    b"was too slow]\n" % self._left_out)
            self._left_out = 0
            self._queued += len(note)
            self._queue.put(note)

    def _write_all(self) -> None:
        if self._before is not None:
            self._before._thread.join()
            self._before = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as e:
            self._report(f"the task log {self.path} cannot be written ({e}); output is not "
                         "copied there")
            self._drain()
            return
        try:
            self._append(fd)
        except OSError as e:
            self._report(f"the task log {self.path} stopped taking output ({e})")
            self._drain()
        finally:
            os.close(fd)

    def _append(self, fd: int) -> None:
        while True:
            chunks = [self._queue.get()]
            time.sleep(GATHER)  # one write (and one wake-up) per many chunks
            with contextlib.suppress(queue.Empty):
                while chunks[-1] is not None and len(chunks) < MAX_CHUNKS:
                    chunks.append(self._queue.get_nowait())
            ended = chunks[-1] is None
            data = [c for c in chunks if c is not None]
            size = sum(map(len, data))
            written = os.writev(fd, data) if data else 0
            if written < size:  # a short write: the rest in plain writes
                rest = memoryview(b"".join(data))[written:]
                while rest:
                    rest = rest[os.write(fd, rest):]
            self._written += size
            if ended:
                return

    def _drain(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._written += len(chunk)

    def _report(self, message: str) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: the runner is exiting
            self._loop.call_soon_threadsafe(log.warning, "%s", message)


@contextlib.contextmanager
def copying(sink: Sink, work_dir: Path, kernel_id: str | None) -> Iterator[Sink]:
    """`sink`, also appending to the task log while a `.logs` folder exists (else `sink`)."""
    if not (work_dir / ".logs").is_dir():
        yield sink
        return
    try:
        path = task_log_path(work_dir, kernel_id or "")
    except ValueError:
        log.warning("no task log: BACKENDAI_KERNEL_ID %r is not a UUID", kernel_id)
        yield sink
        return
    copy = TaskLogCopy(path)

    def both(stream: str, chunk: bytes) -> None:
        copy.write(chunk)
        sink(stream, chunk)

    try:
        yield both
    finally:
        copy.close()
