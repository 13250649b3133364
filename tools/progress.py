"""Progress of the tools' long work (import, export, replay, verify, prune, report), shown on
a terminal by tqdm: count, rate and time left on stderr, one line redrawn in place.

Quiet when stderr is not a terminal (a pipe, a file, CI) and with `--quiet`: nothing is
written then, and the counting costs next to nothing. Must never write to stdout (data).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
    finally:
        bar.close()


def _nothing(n: int = 1) -> None:
    """The tick of a progress that is not shown."""


def counted(items: Iterator[object], tick: Tick, every: int = 1024) -> Iterator[object]:
    """`items` passed through, ticking `tick` once per `every` items (and for the rest)."""
    n = 0
    for item in items:
        yield item
        n += 1
        if n == every:
            tick(n)
            n = 0
    if n:
        tick(n)
