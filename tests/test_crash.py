"""A runner killed with SIGKILL in the middle of a busy session leaves a log that replays."""

from __future__ import annotations

from bench.crash import run


def test_sigkilled_busy_runners_leave_valid_replayable_logs_and_restart_cleanly() -> None:
    result = run(kills=4, seed=11)
    assert result["failures"] == []
    assert result["integrity_ok"] == result["replay_ok"] == 4
    assert result["new_session_each_start"]
    assert sum(result["events_per_session"]) > 100  # the sessions were busy when cut
