"""Progress of the tools' long work (import, export, replay, verify, prune, report), shown on
a terminal by tqdm: count, rate and time left on stderr, one line redrawn in place.

Quiet when stderr is not a terminal (a pipe, a file, CI) and with `--quiet`: nothing is
written then, and the counting costs next to nothing. Must never write to stdout (data).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

Tick = Callable[[int], None]  # tell it how many more items are done


def shown(quiet: bool = False) -> bool:
    """Whether progress is drawn: a terminal on stderr, and not told to be quiet."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress(what: str, total: int | None, *, unit: str = "events",
             quiet: bool = False) -> Iterator[Tick]:
    """A callable that advances the bar by n; the bar is closed (its last line kept) after."""
    if not shown(quiet):
        yield _nothing
        return
    bar = tqdm(total=total, desc=what, unit=f" {unit}", unit_scale=True, file=sys.stderr,
               dynamic_ncols=True, mininterval=0.25, smoothing=0.1)
    try:
        yield bar.update
        bar.total = bar.n  # done: a total that was a guess (a file's lines) is now known
        bar.refresh()
    finally:
        bar.close()


def _nothing(n: int = 1) -> None:
    """The tick of a progress that is not shown."""


@contextmanager
def waiting(what: str, *, quiet: bool = False) -> Iterator[None]:
    """For work that cannot count (one SQL statement): the time it has taken, redrawn."""
    if not shown(quiet):
        yield
        return
    bar = tqdm(total=None, desc=what, bar_format="{desc}: {elapsed}", file=sys.stderr)
    done = threading.Event()
    redraw = threading.Thread(target=_redraw, args=(bar, done), daemon=True)
    redraw.start()
    try:
        yield
    finally:
        done.set()
        redraw.join()
        bar.close()


def _redraw(bar: tqdm, done: threading.Event) -> None:
    while not done.wait(0.25):
        bar.refresh()


def lines_in(path: Path) -> int | None:
    """About how many lines a transcript holds (for the time left): its size over the mean
    size of its first lines."""
    if not path.is_file():
        return None  # the reader says what is wrong with it
    size = path.stat().st_size
    with path.open("rb") as f:
        f.readline()  # the header: not like the others
        sample = [len(f.readline()) for _ in range(256)]
    sample = [n for n in sample if n]
    return int(size / (sum(sample) / len(sample))) + 2 if sample else None
