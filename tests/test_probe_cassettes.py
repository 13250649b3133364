"""Probe classification, from recorded exchanges (pytest-recording) and from a live server.

The HTTP answers (ok, wrong status, an expected non-2xx status, a redirect, a redirect loop)
are replayed from cassettes in `tests/cassettes/test_probe_cassettes/`, recorded once over
krunner's own probe transport against the real test server (`tests/health_server.py`): the
`Prober` runs over `CassetteTransport` (tests/probe_cassette.py), which vcrpy answers for. A
replay starts no server and opens no socket, and each replayed test checks that it did not.
Re-record them (the server is started for it) with

    .venv/bin/python -m pytest tests/test_probe_cassettes.py --record-mode=rewrite

The same answers are also classified against the live server, and a cassette stores answers,
not transport failures, so refused, reset, timed out and a body too slow are live only.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from runner.probe import MAX_REDIRECTS, Prober, ProbeResult
from tests.conftest import free_port
from tests.probe_cassette import CassetteTransport, connects
from tests.service_helpers import HEALTH_SERVER, ROOT

# name -> (path, expected status, (ok, status, reason, redirects))
ANSWERS: dict[str, tuple[str, int, tuple[bool, int | None, str | None, int]]] = {
    "ok": ("/ok", 200, (True, 200, None, 0)),
    "wrong_status": ("/status/503", 200, (False, 503, "status 503, expected 200", 0)),
    "expected_404": ("/status/404", 404, (True, 404, None, 0)),  # the original never could
    "redirect": ("/redirect", 200, (True, 200, None, 1)),
    "redirect_loop": ("/loop", 200, (False, None, f"more than {MAX_REDIRECTS} redirects", 0)),
}


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, object]:
    # the server's port differs from run to run: match on what the probe asked for
    return {"match_on": ["method", "path"], "decode_compressed_response": True}


def recording(config: pytest.Config) -> bool:
    return (config.getoption("--record-mode") or "none") != "none"


@pytest.fixture
def live_port() -> Iterator[int]:
    """The real test server's port."""
    port = free_port()
    proc = subprocess.Popen([*HEALTH_SERVER, str(port)], cwd=ROOT)
    try:
        _wait_open(port)
        yield port
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def cassette_port(request: pytest.FixtureRequest) -> Iterator[int]:
    """The real test server while recording; while replaying, a port where nothing listens."""
    if recording(request.config):
        yield request.getfixturevalue("live_port")
    else:
        yield free_port()  # a probe that reached it would be refused


def _wait_open(port: int, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"the test server did not open port {port}")


def probe(port: int, path: str, expected: int = 200, timeout: float = 1.0,
          transport: httpx.AsyncBaseTransport | None = None) -> ProbeResult:
    async def once() -> ProbeResult:
        prober = Prober(timeout, transport)
        try:
            return await prober.probe(f"http://127.0.0.1:{port}{path}", expected)
        finally:
            await prober.aclose()
    return asyncio.run(once())


def outcome(result: ProbeResult) -> tuple[bool, int | None, str | None, int]:
    return result.ok, result.status, result.reason, result.redirects


@pytest.mark.vcr
@pytest.mark.parametrize("name", list(ANSWERS))
def test_a_recorded_answer_is_classified_without_a_socket(name: str, cassette_port: int,
                                                          request: pytest.FixtureRequest
                                                          ) -> None:
    path, expected, classified = ANSWERS[name]
    with connects() as opened:
        result = probe(cassette_port, path, expected, transport=CassetteTransport())
    assert outcome(result) == classified
    if not recording(request.config):
        assert opened == [], "a replayed probe opened a connection"


@pytest.mark.parametrize("name", list(ANSWERS))
def test_a_live_answer_is_classified_the_same(name: str, live_port: int) -> None:
    path, expected, classified = ANSWERS[name]
    with connects() as opened:
        result = probe(live_port, path, expected)
    assert outcome(result) == classified
    assert ("127.0.0.1", live_port) in opened  # the watch sees krunner's own transport connect


def test_refused() -> None:
    result = probe(free_port(), "/ok")
    assert (result.ok, result.status, result.reason) == (False, None, "connection refused")


def test_reset(live_port: int) -> None:
    result = probe(live_port, "/reset")
    assert not result.ok and result.reason.startswith("connection reset"), result


def test_timeout(live_port: int) -> None:
    began = time.monotonic()
    result = probe(live_port, "/hang", timeout=0.5)
    assert (result.ok, result.status, result.reason) == (False, None, "timed out after 0.5 s")
    assert time.monotonic() - began < 3  # a real deadline


def test_a_body_too_slow(live_port: int) -> None:
    result = probe(live_port, "/slow-body", timeout=0.5)
    assert (result.ok, result.status) == (False, 200)
    assert result.reason == "the body did not arrive within 0.5 s (status 200)"
