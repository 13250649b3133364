"""Model services as the agent sees them: health that never lies, one process per model."""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

from machines.model_health import params_from_definition
from tests.conftest import RunnerProcess, free_port, gone
from tests.service_helpers import (
    HEALTH_SERVER,
    model_entry,
    next_message,
    spawned_pids,
    states,
    wait_rows,
)

HEALTHY = {"model_name": "llm", "is_healthy": True}
UNHEALTHY = {"model_name": "llm", "is_healthy": False}


def _start(runner: RunnerProcess, model: dict) -> dict:
    client = runner.client()
    return client.start_model_service(model)


def test_shutdown_service_tells_the_agent_the_model_is_unhealthy(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    port = free_port()
    assert _start(runner, model_entry(tmp_path / "m", port)) == {"status": "started"}
    assert next_message(client, "model-service-status") == HEALTHY
    pid = spawned_pids(runner.log_path, f"service:llm-{port}")[0]
    client.shutdown_service(f"llm-{port}")
    assert next_message(client, "model-service-status", timeout=10) == UNHEALTHY
    assert gone(pid, within=10)
    runner.stop()
    assert states(runner.log_path, "model:llm")[-2:] == ["healthy", "stopped"]
    assert states(runner.log_path, f"service:llm-{port}")[-2:] == ["stopping", "stopped"]


def test_the_model_process_exiting_is_unhealthy_at_once_and_it_is_restarted(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    port = free_port()
    # probes every 5 s: an unhealthy verdict within 2 s can only come from the exit itself
    model = model_entry(tmp_path / "m", port, max_wait_time=5, max_retries=10)
    model["service"]["health_check"]["initial_delay"] = 0
    assert _start(runner, model) == {"status": "started"}
    assert next_message(client, "model-service-status") == HEALTHY
    first = spawned_pids(runner.log_path, f"service:llm-{port}")[0]
    killed_at = time.monotonic()
    os.kill(first, signal.SIGKILL)
    assert next_message(client, "model-service-status", timeout=10) == UNHEALTHY
    assert time.monotonic() - killed_at < 4.0  # ten failed probes would take 50 s
    assert next_message(client, "model-service-status", timeout=30) == HEALTHY  # restarted
    pids = spawned_pids(runner.log_path, f"service:llm-{port}")
    assert len(pids) == 2 and pids[0] == first
    runner.stop()
    assert gone(pids[1], within=5)
    assert states(runner.log_path, "model:llm") == [
        "undetermined", "healthy", "unhealthy", "healthy", "stopped"]


def test_a_second_start_of_a_running_model_answers_without_a_second_process(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    port = free_port()
    model = model_entry(tmp_path / "m", port)
    assert _start(runner, model) == {"status": "started"}
    assert _start(runner, model) == {"status": "running"}
    assert next_message(client, "model-service-status") == HEALTHY
    assert _start(runner, model) == {"status": "running"}
    pids = spawned_pids(runner.log_path, f"service:llm-{port}")
    assert len(pids) == 1
    health_loops = wait_rows(runner.log_path, "SELECT count(*) FROM events WHERE "
                             "source = 'model:llm' AND name = 'ModelConfigured'")
    assert health_loops == [(1,)]
    runner.stop()
    assert gone(pids[0], within=5)  # nothing outlives the runner


def test_a_redirecting_health_endpoint_is_followed(runner: RunnerProcess, tmp_path: Path
                                                   ) -> None:
    client = runner.client()
    port = free_port()
    assert _start(runner, model_entry(tmp_path / "m", port, path="/redirect")) == {
        "status": "started"}
    assert next_message(client, "model-service-status") == HEALTHY
    redirects = wait_rows(runner.log_path, "SELECT json_extract(data, '$.redirects') FROM "
                          "events WHERE source = 'model:llm' AND name = 'ProbeSucceeded'")
    assert redirects[0] == (1,)


def test_one_hung_server_delays_no_other_models_probes(runner: RunnerProcess,
                                                       tmp_path: Path) -> None:
    client = runner.client()
    hung_port, good_port = free_port(), free_port()
    hung = model_entry(tmp_path / "a", hung_port, name="hung", path="/hang", max_wait_time=5,
                       max_retries=100)
    good = model_entry(tmp_path / "b", good_port, name="good", max_wait_time=0.2,
                       max_retries=1000)
    assert _start(runner, hung) == {"status": "started"}
    assert _start(runner, good) == {"status": "started"}
    assert next_message(client, "model-service-status",
                        where=lambda m: m["model_name"] == "good") == {
        "model_name": "good", "is_healthy": True}
    rows = wait_rows(runner.log_path, "SELECT mono FROM events WHERE source = 'model:good' "
                     "AND name = 'ProbeSucceeded' ORDER BY seq", count=15)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(rows)]
    # a probe waiting behind the hung one would wait its 5 s timeout; on a loaded machine
    # the good model's 0.2 s period may stretch, never to that
    assert max(gaps) < 2.5, gaps
    failed = wait_rows(runner.log_path, "SELECT json_extract(data, '$.reason') FROM events "
                       "WHERE source = 'model:hung' AND name = 'ProbeFailed'")
    assert "timed out after 5 s" in failed[0][0]


def test_a_model_whose_start_fails_is_reported_with_its_reason(
        runner: RunnerProcess, tmp_path: Path) -> None:
    model = model_entry(tmp_path / "m", free_port(), command=["/nonexistent/server"])
    reply = _start(runner, model)
    assert reply == {"status": "failed",
                     "error": "the executable file is not found: /nonexistent/server"}


def test_health_check_fields_map_as_documented() -> None:
    assert params_from_definition({"path": "/h", "max_retries": 4, "max_wait_time": 2.5,
                                   "expected_status_code": 204}) == {
        "initial_delay": 0.0, "period": 2.5, "timeout": 2.5, "success_threshold": 1,
        "failure_threshold": 4, "path": "/h", "expected_status": 204}
    with_interval = params_from_definition({"path": "/", "interval": 10, "max_wait_time": None,
                                            "initial_delay": 60, "max_retries": None})
    assert with_interval["period"] == 10 and with_interval["timeout"] == 5.0
    assert with_interval["initial_delay"] == 60 and with_interval["failure_threshold"] == 10
    assert params_from_definition({"path": "/", "max_wait_time": 0})["period"] == 0.1


__all__ = ["HEALTH_SERVER"]
