"""A seeded sample of the fuzzer in bench/stress.py: generated frames, then a working runner."""

from __future__ import annotations

from bench.stress import run


def test_generated_frames_leave_the_runner_serving_with_exact_replies() -> None:
    result = run(frames=4000, seed=7)
    assert result["alive"] and result["status_after"] and result["query_after"]
    assert result["replies_got"] == result["replies_expected"]
    assert result["every_message_recorded"], result["inputs_recorded"]
    assert result["rejected_recorded"] > 1000
