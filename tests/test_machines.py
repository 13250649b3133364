"""Each machine's table, driven by events alone (no runner, no clock)."""

from __future__ import annotations

import pytest

from machines import run as run_machine
from machines import vocabulary as v
from machines.base import Transitioned, TriggerRejected
from machines.registry import Machines
from transcripts.events import INPUT, OBSERVATION, Event


def obs(source: str, name: str, **data: object) -> Event:
    return Event(source, OBSERVATION, name, data)


def inp(source: str, op: str, payload: object = b"") -> Event:
    return Event(source, INPUT, op, payload)


def drive(events: list[Event]) -> tuple[Machines, list[Transitioned | TriggerRejected]]:
    moves: list[Transitioned | TriggerRejected] = []
    machines = Machines(moves.append)
    for event in events:
        machines.consume(event)
    return machines, moves


def states(moves: list, source: str) -> list[str]:
    return [m.to_state for m in moves if isinstance(m, Transitioned) and m.source == source]


K = "kernel"
R1, R2, R3 = "run:1", "run:2", "run:3"
S = "service:web"
M = "model:llm"
CONFIG = {"initial_delay": 0, "period": 1, "timeout": 1, "success_threshold": 1,
          "failure_threshold": 2}

CASES = [
    ("kernel starts and stops", [
        obs(K, "RunnerStarted"), obs(K, v.DRIVER_READY), obs(K, v.SHUTDOWN_REQUESTED),
        obs(K, v.RUNNER_STOPPED)],
     K, ["starting", "ready", "stopping", "stopped"]),
    ("kernel dies and is restarted", [
        obs(K, "RunnerStarted"), obs(K, v.DRIVER_READY), obs(K, v.KERNEL_DIED, reason="x"),
        obs(K, v.KERNEL_RESTARTED)],
     K, ["starting", "ready", "restarting", "ready"]),
    ("kernel restart fails", [
        obs(K, "RunnerStarted"), obs(K, v.DRIVER_READY), obs(K, v.KERNEL_DIED),
        obs(K, v.KERNEL_RESTART_FAILED), obs(K, v.SHUTDOWN_REQUESTED)],
     K, ["starting", "ready", "restarting", "failed", "stopping"]),
    ("query run with input", [
        inp(R1, "code"), obs(R1, v.RUN_STARTED, op="code"), obs(R1, v.INPUT_REQUESTED),
        inp(R1, "input", b"x"), obs(R1, v.RUN_ENDED, exit_code=0, failed=False)],
     R1, ["queued", "executing", "waiting_input", "executing", "finished"]),
    ("interrupted run", [
        inp(R1, "exec"), obs(R1, v.RUN_STARTED, op="exec"), inp(R1, "interrupt"),
        obs(R1, v.RUN_ENDED, exit_code=-2, failed=False)],
     R1, ["queued", "executing", "interrupted"]),
    ("run failed by the runner", [
        inp(R1, "code"), obs(R1, v.RUN_STARTED, op="code"),
        obs(R1, v.RUN_ENDED, exit_code=1, failed=True, reason="kernel died")],
     R1, ["queued", "executing", "failed"]),
    ("a runner failure outranks an interrupt", [
        inp(R1, "code"), obs(R1, v.RUN_STARTED, op="code"), inp(R1, "interrupt"),
        obs(R1, v.RUN_ENDED, exit_code=1, failed=True, reason="kernel died")],
     R1, ["queued", "executing", "failed"]),
    ("a clean step", [
        inp(R1, "clean"), obs(R1, v.RUN_STARTED, op="clean"),
        obs(R1, v.RUN_ENDED, exit_code=0, failed=False)],
     R1, ["queued", "cleaning", "finished"]),
    ("clean and build steps", [
        inp(R1, "build"), obs(R1, v.RUN_STARTED, op="build"),
        obs(R1, v.RUN_ENDED, exit_code=0, failed=False)],
     R1, ["queued", "building", "finished"]),
    ("service starts, crashes, backs off, restarts, stops", [
        obs(S, v.SERVICE_START_REQUESTED, port=1), obs(S, v.SERVICE_SPAWNED, pid=1),
        obs(S, v.SERVICE_PORT_OPENED, port=1), obs(S, v.PROCESS_EXITED, exit_code=1, uptime=5),
        obs(S, v.SERVICE_RESTARTING), obs(S, v.SERVICE_PORT_OPENED, port=1),
        inp(S, "shutdown-service", "web"), obs(S, v.PROCESS_EXITED, exit_code=-15)],
     S, ["starting", "running", "backoff", "starting", "running", "stopping", "stopped"]),
    ("service fails to start, then starts", [
        obs(S, v.SERVICE_START_REQUESTED), obs(S, v.SERVICE_START_FAILED, reason="boom"),
        obs(S, v.SERVICE_START_REQUESTED), obs(S, v.SERVICE_PORT_OPENED)],
     S, ["starting", "failed", "starting", "running"]),
    ("model: scattered failures never add up (the original flapped)", [
        obs(M, v.MODEL_CONFIGURED, **CONFIG), obs(M, v.PROBE_SUCCEEDED),
        obs(M, v.PROBE_FAILED, reason="r"), obs(M, v.PROBE_SUCCEEDED),
        obs(M, v.PROBE_FAILED, reason="r"), obs(M, v.PROBE_SUCCEEDED),
        obs(M, v.PROBE_FAILED, reason="r")],
     M, ["undetermined", "healthy"]),
    ("model: consecutive failures reach the threshold", [
        obs(M, v.MODEL_CONFIGURED, **CONFIG), obs(M, v.PROBE_SUCCEEDED),
        obs(M, v.PROBE_FAILED, reason="r"), obs(M, v.PROBE_FAILED, reason="r"),
        obs(M, v.PROBE_SUCCEEDED)],
     M, ["undetermined", "healthy", "unhealthy", "healthy"]),
    ("model: never up is reported unhealthy", [
        obs(M, v.MODEL_CONFIGURED, **CONFIG), obs(M, v.PROBE_FAILED, reason="refused"),
        obs(M, v.PROBE_FAILED, reason="refused")],
     M, ["undetermined", "unhealthy"]),
    ("model: success threshold above one", [
        obs(M, v.MODEL_CONFIGURED, **{**CONFIG, "success_threshold": 3}),
        obs(M, v.PROBE_SUCCEEDED), obs(M, v.PROBE_SUCCEEDED), obs(M, v.PROBE_FAILED),
        obs(M, v.PROBE_SUCCEEDED), obs(M, v.PROBE_SUCCEEDED), obs(M, v.PROBE_SUCCEEDED)],
     M, ["undetermined", "healthy"]),
    ("model: process exit is unhealthy at once", [
        obs(M, v.MODEL_CONFIGURED, **CONFIG), obs(M, v.PROBE_SUCCEEDED),
        obs(M, v.PROCESS_EXITED, exit_code=-9), obs(M, v.MODEL_STOPPED)],
     M, ["undetermined", "healthy", "unhealthy", "stopped"]),
    ("model: no health check means healthy once started", [
        obs(M, v.MODEL_CONFIGURED, **CONFIG), obs(M, v.HEALTH_CHECK_ABSENT)],
     M, ["undetermined", "healthy"]),
]


@pytest.mark.parametrize(("story", "events", "source", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_machine_tables(story: str, events: list[Event], source: str,
                        expected: list[str]) -> None:
    _, moves = drive(events)
    assert states(moves, source) == expected
    assert not [m for m in moves if isinstance(m, TriggerRejected)], story


def test_a_failed_build_skips_the_next_exec_once_with_127() -> None:
    events = [
        inp(R1, "build"), obs(R1, v.RUN_STARTED, op="build"),
        obs(R1, v.RUN_ENDED, exit_code=2, failed=False),
        inp(R2, "exec"), obs(R2, v.RUN_STARTED, op="exec"),
        inp(R3, "exec"), obs(R3, v.RUN_STARTED, op="exec"),
    ]
    _, moves = drive(events)
    skipped = [m for m in moves if isinstance(m, Transitioned) and m.source == R2][-1]
    assert (skipped.to_state, skipped.data) == ("failed", {"reason": "build failed",
                                                           "exit_code": 127})
    assert states(moves, R3) == ["queued", "executing"]


def test_an_interrupted_build_also_skips_the_next_exec() -> None:
    _, moves = drive([
        inp(R1, "build"), obs(R1, v.RUN_STARTED, op="build"), inp(R1, "interrupt"),
        obs(R1, v.RUN_ENDED, exit_code=0, failed=False),
        inp(R2, "exec"), obs(R2, v.RUN_STARTED, op="exec")])
    assert states(moves, R2) == ["queued", "failed"]


def test_every_working_state_can_end_and_no_final_state_can_be_left() -> None:
    """So the one terminal message (sent on entering a final state) is always sent, once."""
    rows = run_machine.TRANSITIONS
    ends = {s for r in rows if r["trigger"] == "end" for s in r["source"]}
    assert ends == set(run_machine.WORKING)
    sources = {s for r in rows for s in ([r["source"]] if isinstance(r["source"], str)
                                         else r["source"])}
    assert not sources & set(run_machine.FINAL)


@pytest.mark.parametrize("events", [
    [inp(R1, "code"), obs(R1, v.RUN_STARTED, op="code"),
     obs(R1, v.RUN_ENDED, exit_code=3, failed=False)],
    [inp(R1, "exec"), obs(R1, v.RUN_STARTED, op="exec"), inp(R1, "interrupt"),
     obs(R1, v.RUN_ENDED, exit_code=-2, failed=False)],
    [inp(R1, "code"), obs(R1, v.RUN_STARTED, op="code"),
     obs(R1, v.RUN_ENDED, exit_code=1, failed=True, reason="kernel died")],
], ids=["finished", "interrupted", "failed"])
def test_a_final_transition_carries_the_exit_code_the_terminal_message_sends(
        events: list[Event]) -> None:
    _, moves = drive(events)
    final = moves[-1]
    assert isinstance(final, Transitioned) and final.to_state in run_machine.FINAL
    assert final.data["exit_code"] == events[-1].data["exit_code"]


def test_invalid_triggers_are_reported_never_raised() -> None:
    machines, moves = drive([
        obs(K, "RunnerStarted"), obs(K, v.KERNEL_RESTARTED),  # not restarting
        inp(R1, "input", b"stray"),  # no such run
        obs(M, v.PROBE_SUCCEEDED),  # never configured
    ])
    rejected = [(m.source, m.trigger, m.state) for m in moves if isinstance(m, TriggerRejected)]
    assert rejected == [(K, "restarted", "starting"), (R1, "input", "absent"),
                        (M, "probe_succeeded", "absent")]
    assert machines.state(K) == "starting"


def test_a_finished_run_is_forgotten_and_later_triggers_are_rejected() -> None:
    machines, moves = drive([
        inp(R1, "code"), obs(R1, v.RUN_STARTED, op="code"),
        obs(R1, v.RUN_ENDED, exit_code=0, failed=False), inp(R1, "interrupt")])
    assert machines.state(R1) is None
    assert isinstance(moves[-1], TriggerRejected)


def test_backoff_delay_doubles_and_is_capped() -> None:
    events = [obs(S, v.SERVICE_START_REQUESTED, start_retries=100), obs(S, v.SERVICE_PORT_OPENED)]
    delays = []
    for _ in range(8):
        events += [obs(S, v.PROCESS_EXITED, exit_code=1, uptime=0.1), obs(S, v.SERVICE_RESTARTING),
                   obs(S, v.SERVICE_PORT_OPENED)]
    _, moves = drive(events)
    delays = [m.data["backoff_delay"] for m in moves
              if isinstance(m, Transitioned) and m.to_state == "backoff"]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_kernel_that_could_not_start_keeps_why_queries_are_refused() -> None:
    machines, _ = drive([obs(K, v.RUNNER_STARTED), obs(K, v.DRIVER_FAILED, reason="no python"),
                         obs(K, v.KERNEL_DIED, reason="late")])  # rejected: changes nothing
    assert machines.state(K) == "failed"
    assert machines.get(K).query_unavailable == "no python"


def test_a_runtime_without_query_mode_is_ready_and_refuses_queries() -> None:
    machines, _ = drive([obs(K, v.RUNNER_STARTED),
                         obs(K, v.DRIVER_READY, query=False, reason="sh has no query mode")])
    assert machines.state(K) == "ready"
    assert machines.get(K).query_unavailable == "sh has no query mode"


def test_a_restarted_kernel_serves_queries_again_and_a_failed_restart_says_why() -> None:
    start = [obs(K, v.RUNNER_STARTED), obs(K, v.DRIVER_READY, query=True),
             obs(K, v.KERNEL_DIED, reason="heartbeat lost")]
    machines, _ = drive([*start, obs(K, v.KERNEL_RESTARTED)])
    assert (machines.state(K), machines.get(K).query_unavailable) == ("ready", None)
    machines, _ = drive([*start, obs(K, v.KERNEL_RESTART_FAILED, reason="no memory")])
    assert (machines.state(K), machines.get(K).query_unavailable) == ("failed", "no memory")


# --- the git terminal's shell (machines/terminal.py) ----------------------------------------
T = "terminal"


def shell_life(*ends: tuple[str, float]) -> list[Event]:
    """The terminal bound, then each (observation, seconds lived) in turn: a shell that
    started and exited, or could not start; with the restart each back-off is followed by."""
    events = [obs(T, v.TERMINAL_BOUND, keystrokes=1, screen=2)]
    for n, (how, lived) in enumerate(ends):
        if n:
            events.append(obs(T, v.SHELL_RESTARTING, delay=0))
        if how == v.SHELL_EXITED:
            events += [obs(T, v.SHELL_STARTED, pid=n), obs(T, how, pid=n, exit_code=1,
                                                           lived_s=lived)]
        else:
            events.append(obs(T, how, reason="no pty"))
    return events


def test_the_terminal_backs_off_doubling_and_a_long_lived_shell_resets_it() -> None:
    quick, long = (v.SHELL_EXITED, 0.1), (v.SHELL_EXITED, 6.0)
    _, moves = drive(shell_life(quick, (v.SHELL_START_FAILED, 0), quick, long, quick))
    delays = [m.data["delay"] for m in moves if m.source == T and m.to_state == "backoff"]
    assert delays == [0.25, 0.5, 1.0, 0.0, 0.25]  # a failed start counts; 6 s lived resets


def test_the_terminal_gives_up_after_five_quick_ends_and_enter_starts_it_again() -> None:
    machines, moves = drive([*shell_life(*[(v.SHELL_EXITED, 0.1)] * 5),
                             obs(T, v.SHELL_RESTARTING, delay=0),  # a stale timer: rejected
                             obs(T, v.SHELL_START_REQUESTED), obs(T, v.SHELL_STARTED, pid=9),
                             obs(T, v.SHELL_EXITED, pid=9, exit_code=0, lived_s=0.1)])
    assert states(moves, T)[-4:] == ["fatal", "starting", "running", "backoff"]
    assert [m.state for m in moves if isinstance(m, TriggerRejected)] == ["fatal"]
    assert machines.get(T).backoff_delay == 0.25  # Enter started the count afresh


def test_a_stop_while_a_shell_is_spawning_lets_it_start_then_hangs_it_up() -> None:
    _, moves = drive([obs(T, v.TERMINAL_BOUND), obs(T, v.TERMINAL_STOP_REQUESTED, reason="x"),
                      obs(T, v.SHELL_STARTED, pid=1),
                      obs(T, v.SHELL_EXITED, pid=1, exit_code=-1, lived_s=0.2)])
    assert states(moves, T) == ["starting", "stopping", "stopped"]
    assert not [m for m in moves if isinstance(m, TriggerRejected)]


def test_a_stop_during_the_back_off_or_once_fatal_stops_at_once() -> None:
    for life in (shell_life((v.SHELL_EXITED, 0.1)),
                 shell_life(*[(v.SHELL_START_FAILED, 0)] * 5)):
        _, moves = drive([*life, obs(T, v.TERMINAL_STOP_REQUESTED, reason="x")])
        assert states(moves, T)[-1] == "stopped"
        assert states(moves, T)[-2] in ("backoff", "fatal")
