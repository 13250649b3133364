"""A child process for the durability test: appends numbered events until it is killed."""

from __future__ import annotations

import sys

from transcripts.events import OBSERVATION, OUTPUT, Event
from transcripts.store import EventLog


def main() -> None:
    log = EventLog(sys.argv[1], batch_interval=0.002)
    log.open_session(kernel_id="kill-target", language="test")
    print("appending", flush=True)
    chunk = b"x" * 1024
    n = 0
    while True:
        if n % 4 == 3:
            log.append(Event("run:1", OUTPUT, "stdout", chunk + str(n).encode()))
        else:
            log.append(Event("kernel", OBSERVATION, "Tick", {"n": n}))
        n += 1
        if n % 512 == 0:
            log.flush()  # keep the producer near the writer, as a real runner is


if __name__ == "__main__":
    main()
