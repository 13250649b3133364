"""Health probes read little: a model server sending a 300 MB body costs the runner nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.flood import RssWatch
from tests.conftest import RunnerProcess, free_port
from tests.service_helpers import model_entry, next_message, wait_rows

RSS_BOUND_MB = 150  # as in test_limits: the runner without its kernel, whatever it is sent
PROBES = 5


@pytest.mark.parametrize("path", ["/huge", "/huge-chunked"])
def test_a_health_endpoint_sending_300_mb_keeps_the_runner_small(
        runner: RunnerProcess, tmp_path: Path, path: str) -> None:
    client = runner.client()
    model = model_entry(tmp_path / "model", free_port(), path=path, max_wait_time=10,
                        interval=0.3)
    watch = RssWatch(runner.proc.pid)
    try:
        assert client.start_model_service(model, timeout=20) == {"status": "started"}
        assert next_message(client, "model-service-status") == {"model_name": "llm",
                                                                 "is_healthy": True}
        wait_rows(runner.log_path, "SELECT seq FROM events WHERE source = 'model:llm' "
                                   "AND name = 'ProbeSucceeded'", count=PROBES, within=60)
    finally:
        peak = watch.stop()
    assert peak < RSS_BOUND_MB, f"runner RSS peaked at {peak:.0f} MB"
