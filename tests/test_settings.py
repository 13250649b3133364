"""The image's settings never stop the runner: units people write are read, the rest warned.

An operator writes `KRUNNER_LOG_MAX_SIZE=2GB` or `KRUNNER_LOG_MAX_AGE=1w` into an image, or
ships a broken service definition; the runner binds, answers `status`, applies what it can
read and says (stderr and the log) what it could not.
"""

from __future__ import annotations

import json

import pytest

from runner import settings
from tests.service_helpers import log_rows

ISSUE_VALUES = {"KRUNNER_LOG_MAX_SIZE": "2GB", "KRUNNER_LOG_MAX_AGE": "1w",
                "KRUNNER_RECORD_OUTPUT_LIMIT": "100KiB", "KRUNNER_SERVICE_START_WINDOW": "1s"}


@pytest.mark.parametrize(("kind", "text", "value"), [
    ("size", "2GB", 2 * 10**9), ("size", "2G", 2 << 30), ("size", "2gib", 2 << 30),
    ("size", "8M", 8 << 20), ("size", "8 MB", 8 * 10**6), ("size", "512MiB", 512 << 20),
    ("size", "100K", 100 << 10), ("size", "100kb", 100_000), ("size", "1.5K", 1536),
    ("size", "4096", 4096), ("size", "4096B", 4096), ("size", "1T", 1 << 40),
    ("duration", "1w", 604800.0), ("duration", "90d", 90 * 86400.0), ("duration", "12h", 43200),
    ("duration", "30m", 1800.0), ("duration", "1s", 1.0), ("duration", "1500ms", 1.5),
    ("duration", "2.5", 2.5), ("duration", " 10 min ", 600.0),
    ("count", "3", 3), ("port", "2002", 2002),
])
def test_the_units_people_write_are_read(kind: settings.Kind, text: str, value: float) -> None:
    assert settings.read(kind, text) == value


@pytest.mark.parametrize(("kind", "text"), [
    ("size", "lots"), ("size", "-1M"), ("size", "2 parsecs"), ("size", "1e400"),
    ("duration", "1y"), ("duration", "soon"), ("duration", "nan"), ("count", "3.5"),
    ("port", "70000"), ("port", "20 s"),
])
def test_what_cannot_be_read_is_none(kind: settings.Kind, text: str) -> None:
    assert settings.read(kind, text) is None


def test_normalise_rewrites_readable_values_and_drops_the_rest_with_a_warning() -> None:
    environ = {**ISSUE_VALUES, "KRUNNER_SERVICE_BACKOFF_MAX": "a while", "OTHER": "2GB"}
    warnings = settings.normalise(environ)
    assert environ == {"KRUNNER_LOG_MAX_SIZE": "2000000000", "KRUNNER_LOG_MAX_AGE": "604800",
                       "KRUNNER_RECORD_OUTPUT_LIMIT": "102400",
                       "KRUNNER_SERVICE_START_WINDOW": "1", "OTHER": "2GB"}
    assert len(warnings) == 1 and "KRUNNER_SERVICE_BACKOFF_MAX" in warnings[0]


def test_malformed_settings_and_files_in_the_image_never_stop_the_runner(runner_factory
                                                                        ) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    r = runner_factory("python", env={**ISSUE_VALUES, "KRUNNER_SERVICE_BACKOFF_MAX": "a while",
                                      "KRUNNER_TERMINAL_IN_PORT": "port two"},
                       files={"service-defs/deep.json": deep,
                              "service-defs/fine.json": json.dumps({"command": ["true"]}),
                              "config/intrinsic-ports.json": "{" * 100_000,
                              "config/environ.txt": "KRUNNER_SERVICE_BACKOFF_BASE=fast\n"})
    client = r.client()
    assert "started_at" in client.status(timeout=30)
    assert client.get_apps()["data"] == [{"name": "fine"}]
    refused = client.start_service("deep", 8080, timeout=20)
    assert refused["status"] == "failed" and "nested deeper than" in refused["error"]
    result = client.batch(exec="head -c 300000 /dev/zero")
    assert result.exec_exit == 0
    assert r.stop() == 0
    limit = log_rows(r.log_path, "SELECT json_extract(data, '$.limit') FROM events "
                                 "WHERE name = 'OutputRecordingCapped'")
    assert limit == [(102400,)]  # 100KiB, read as such
    warnings = [m for (m,) in log_rows(r.log_path, "SELECT json_extract(data, '$.message') "
                                                   "FROM events WHERE kind = 'log' "
                                                   "AND name = 'warning'")]
    for name in ("KRUNNER_SERVICE_BACKOFF_MAX", "KRUNNER_TERMINAL_IN_PORT",
                 "KRUNNER_SERVICE_BACKOFF_BASE", "service definition deep"):
        assert any(name in w for w in warnings), (name, warnings)
    assert "KRUNNER_SERVICE_BACKOFF_MAX" in r.stderr_text()
