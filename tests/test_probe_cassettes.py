"""Probe classification, from recorded exchanges (pytest-recording) and live failures.

The HTTP answers (ok, wrong status, redirect, redirect loop) are replayed from cassettes in
`tests/cassettes/test_probe_cassettes/`, recorded against the real test server
(`tests/health_server.py`). Re-record them with

    .venv/bin/python -m pytest tests/test_probe_cassettes.py --record-mode=rewrite

A cassette stores answers, not transport failures, so refused, reset, timed out and a body
too slow are classified against the live server below.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from runner.probe import MAX_REDIRECTS, Prober, ProbeResult
from tests.conftest import free_port
from tests.service_helpers import HEALTH_SERVER, ROOT


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, object]:
    # the server's port differs from run to run: match on what the probe asked for
    return {"match_on": ["method", "path"], "decode_compressed_response": True}


@pytest.fixture
def server_port(request: pytest.FixtureRequest) -> Iterator[int]:
    """The real test server while recording (or live); a port nobody needs when replaying."""
    recording = request.config.getoption("--record-mode", "none") != "none"
    live = request.node.get_closest_marker("vcr") is None
    if not (recording or live):
        yield 9  # replayed from the cassette: never connected
        return
    port = free_port()
    proc = subprocess.Popen([*HEALTH_SERVER, str(port)], cwd=ROOT)
    try:
        _wait_open(port)
        yield port
    finally:
        proc.kill()
        proc.wait()


def _wait_open(port: int, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"the test server did not open port {port}")


def probe(port: int, path: str, expected: int = 200, timeout: float = 1.0) -> ProbeResult:
    async def once() -> ProbeResult:
        prober = Prober(timeout)
        try:
            return await prober.probe(f"http://127.0.0.1:{port}{path}", expected)
        finally:
            await prober.aclose()
    return asyncio.run(once())


@pytest.mark.vcr
def test_ok(server_port: int) -> None:
    result = probe(server_port, "/ok")
    assert (result.ok, result.status, result.reason, result.redirects) == (True, 200, None, 0)


@pytest.mark.vcr
def test_wrong_status(server_port: int) -> None:
    result = probe(server_port, "/status/503")
    assert (result.ok, result.status, result.reason) == (False, 503, "status 503, expected 200")


@pytest.mark.vcr
def test_an_expected_non_2xx_status_can_pass(server_port: int) -> None:
    assert probe(server_port, "/status/404", expected=404).ok  # the original never could


@pytest.mark.vcr
def test_a_redirect_is_followed(server_port: int) -> None:
    result = probe(server_port, "/redirect")
    assert (result.ok, result.status, result.redirects) == (True, 200, 1)


@pytest.mark.vcr
def test_a_redirect_loop_fails_with_a_reason(server_port: int) -> None:
    result = probe(server_port, "/loop")
    assert (result.ok, result.reason) == (False, f"more than {MAX_REDIRECTS} redirects")


def test_refused() -> None:
    result = probe(free_port(), "/ok")
    assert (result.ok, result.status, result.reason) == (False, None, "connection refused")


def test_reset(server_port: int) -> None:
    result = probe(server_port, "/reset")
    assert not result.ok and result.reason.startswith("connection reset"), result


def test_timeout(server_port: int) -> None:
    began = time.monotonic()
    result = probe(server_port, "/hang", timeout=0.5)
    assert (result.ok, result.status, result.reason) == (False, None, "timed out after 0.5 s")
    assert time.monotonic() - began < 3  # a real deadline


def test_a_body_too_slow(server_port: int) -> None:
    result = probe(server_port, "/slow-body", timeout=0.5)
    assert (result.ok, result.status) == (False, 200)
    assert result.reason == "the body did not arrive within 0.5 s (status 200)"
