"""Live replay: a recorded session's inbound frames sent to a fresh runner, answers compared.

Each frame goes out once the new runner has sent as many answers (`status`, `finished`,
`waiting-input`, replies …) as the original had when the agent sent it, and no sooner after
the previous frame than the agent sent it (gaps capped at `MAX_GAP`), so an `input` follows
its `waiting-input` and an `interrupt` lands mid-run as it did. The new runner records its
own log; both logs are then compared source by source (`transcripts.conversation`).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from tools.launch import start_runner
from transcripts import conversation as talk
from transcripts.reader import Recorded, events, latest_session, open_readonly

MAX_GAP = 5.0  # seconds: a user who paused for an hour is not replayed in real time


@dataclass(slots=True)
class LiveReport:
    ok: bool
    sent: int
    answers_expected: int
    answers_got: int
    redacted_inputs: int
    stalls: list[int] = field(default_factory=list)  # seqs sent without their answers
    differences: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "sent": self.sent, "answers_expected": self.answers_expected,
                "answers_got": self.answers_got, "redacted_inputs": self.redacted_inputs,
                "stalls": self.stalls, "differences": self.differences}


class Pacer:
    """The agent's side of the new session: sends frames, counts the answers it receives."""

    def __init__(self, input_port: int, output_port: int) -> None:
        self._ctx = zmq.Context()
        self._push = self._ctx.socket(zmq.PUSH)
        self._push.connect(f"tcp://127.0.0.1:{input_port}")
        self._pull = self._ctx.socket(zmq.PULL)
        self._pull.connect(f"tcp://127.0.0.1:{output_port}")
        self.answers = 0

    def wait_answers(self, count: int, timeout: float) -> bool:
        """Read until `count` answers have arrived; False if the runner stayed silent."""
        deadline = time.monotonic() + timeout
        while self.answers < count:
            left = deadline - time.monotonic()
            if left <= 0 or not self._pull.poll(int(left * 1000)):
                return False
            msg_type = self._pull.recv_multipart()[0].decode("ascii", "replace")
            self.answers += msg_type in talk.ANSWERS
        return True

    def send(self, frames: list[bytes]) -> None:
        self._push.send_multipart(frames)

    def close(self) -> None:
        self._ctx.destroy(linger=0)


def replay_live(recorded: list[Recorded], lang: str, *, work_dir: Path | None = None,
                timeout: float = 30.0) -> LiveReport:
    """Drive a fresh `lang` runner with the recorded frames; compare what both answered."""
    steps = talk.inbound(recorded)
    expected = talk.answers(recorded)
    with tempfile.TemporaryDirectory(prefix="krunner-live-") as tmp:
        runner = start_runner(Path(tmp), lang, *(["--work-dir", str(work_dir)] if work_dir
                                                 else []))
        pacer = Pacer(runner.input_port, runner.output_port)
        stalls: list[int] = []
        try:
            last_sent = time.monotonic()
            for step in steps:
                if not pacer.wait_answers(step.answers_before, timeout):
                    stalls.append(step.seq)
                time.sleep(max(min(step.gap, MAX_GAP) - (time.monotonic() - last_sent), 0.0))
                pacer.send(step.frames)
                last_sent = time.monotonic()
            pacer.wait_answers(expected, timeout)
        finally:
            runner.stop()
            pacer.close()
        replayed = _session_events(runner.log_path)
    recorded_talk = talk.by_source(recorded, talk.volatile_paths(recorded))
    replayed_talk = talk.by_source(replayed, talk.volatile_paths(replayed))
    diff = talk.differences(recorded_talk, replayed_talk)
    return LiveReport(not diff and not stalls, len(steps), expected, pacer.answers,
                      sum(s.redacted for s in steps), stalls, diff)


def _session_events(log: Path) -> list[Recorded]:
    conn = open_readonly(log)
    try:
        session = latest_session(conn)
        return list(events(conn, session)) if session else []
    finally:
        conn.close()
