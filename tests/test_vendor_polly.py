"""`vendor.aws_polly` against a local Polly endpoint: speech as media, clear errors, no hangs."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunnerProcess, free_port
from tests.service_helpers import log_rows
from tools.launch import ROOT

pytest.importorskip("boto3", reason="vendor.aws_polly needs boto3 (the test extras have it)")

AUDIO = b"OggS\x00fake vorbis audio \xff\xfe"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDKRUNNERTEST", "AWS_SECRET_ACCESS_KEY": "not-a-secret",
               "AWS_DEFAULT_REGION": "eu-west-1"}


@dataclass
class FakePolly:
    """An HTTP server answering Polly's SynthesizeSpeech, keeping what it was sent."""

    server: ThreadingHTTPServer
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with: str | None = None  # an error type to answer with instead of audio

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def _handler(fake: Callable[[], FakePolly]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            polly = fake()
            polly.requests.append({"path": self.path, "body": json.loads(body),
                                   "authorization": self.headers.get("Authorization", "")})
            if polly.fail_with:
                payload = json.dumps({"message": "Maximum text length has been exceeded"})
                self.send_response(400)
                self.send_header("x-amzn-ErrorType", polly.fail_with)
                self.send_header("Content-Type", "application/json")
            else:
                payload, status = AUDIO.decode("latin-1"), 200
                self.send_response(status)
                self.send_header("Content-Type", "audio/ogg")
                self.send_header("x-amzn-RequestCharacters", "5")
            data = payload.encode("latin-1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def polly() -> Iterator[FakePolly]:
    holder: list[FakePolly] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(lambda: holder[0]))
    holder.append(FakePolly(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder[0]
    server.shutdown()
    server.server_close()


def _start(runner_factory: Callable[..., RunnerProcess], endpoint: str,
           **env: str) -> RunnerProcess:
    runner = runner_factory("vendor.aws_polly",
                            env={**CREDENTIALS, "AWS_ENDPOINT_URL_POLLY": endpoint, **env})
    runner.client(timeout=60).status()
    return runner


def test_a_request_becomes_speech_sent_as_media(
        runner_factory: Callable[..., RunnerProcess], polly: FakePolly) -> None:
    runner = _start(runner_factory, polly.url)
    request = {"text": "<speak>Hello</speak>", "voiceId": "Seoyeon", "textType": "ssml"}
    result = runner.client().query(json.dumps(request))
    assert result.exit_code == 0, result.stderr
    (media,) = result.media
    assert media["type"] == "audio/ogg"
    prefix = "data:audio/ogg;base64,"
    assert media["data"].startswith(prefix)
    assert base64.b64decode(media["data"][len(prefix):]) == AUDIO
    (sent,) = polly.requests
    assert sent["path"] == "/v1/speech"
    assert sent["body"] == {"Text": "<speak>Hello</speak>", "VoiceId": "Seoyeon",
                            "TextType": "ssml", "OutputFormat": "ogg_vorbis"}
    assert "Credential=AKIDKRUNNERTEST/" in sent["authorization"]
    assert "/eu-west-1/polly/" in sent["authorization"]


@pytest.mark.parametrize("payload, reason", [
    ("Hello there", "not JSON"),
    ('["text", "voiceId"]', "not an object"),
    ('{"voiceId": "Joanna"}', '"text" is missing'),
    ('{"text": "hi", "voiceId": "Joanna", "textType": "html"}', '"textType" must be'),
])
def test_a_bad_request_is_an_error_and_an_exit_code_not_a_hang(
        runner_factory: Callable[..., RunnerProcess], polly: FakePolly, payload: str,
        reason: str) -> None:
    runner = _start(runner_factory, polly.url)
    result = runner.client().query(payload, timeout=20)
    assert result.exit_code == 2
    assert reason in result.stderr and '"voiceId"' in result.stderr
    assert polly.requests == []
    ok = runner.client().query('{"text": "still here", "voiceId": "Joanna"}', timeout=20)
    assert ok.exit_code == 0 and len(ok.media) == 1


def test_polly_errors_and_an_unreachable_endpoint_end_the_query(
        runner_factory: Callable[..., RunnerProcess], polly: FakePolly) -> None:
    polly.fail_with = "TextLengthExceededException"
    runner = _start(runner_factory, polly.url)
    refused = runner.client().query('{"text": "long", "voiceId": "Joanna"}', timeout=30)
    assert refused.exit_code == 1
    assert "TextLengthExceededException" in refused.stderr
    assert "Maximum text length" in refused.stderr

    nobody = _start(runner_factory, f"http://127.0.0.1:{free_port()}")
    unreachable = nobody.client().query('{"text": "hi", "voiceId": "Joanna"}', timeout=60)
    assert unreachable.exit_code == 1
    assert "Could not connect to the endpoint URL" in unreachable.stderr


def test_without_boto3_the_runner_says_so_with_127_and_an_event(
        runner_factory: Callable[..., RunnerProcess], tmp_path: Path) -> None:
    # A package that fails to import as an absent one does, ahead of the installed boto3.
    shadow = tmp_path / "no-boto3" / "boto3"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'boto3'\", name='boto3')\n")
    runner = _start(runner_factory, "http://127.0.0.1:9",
                    PYTHONPATH=f"{shadow.parent}:{ROOT}")
    result = runner.client().query('{"text": "hi", "voiceId": "Joanna"}', timeout=20)
    assert result.exit_code == 127
    assert "needs the boto3 package" in result.stderr
    runner.stop()
    ((data,),) = log_rows(runner.log_path, "SELECT data FROM events WHERE name = 'RuntimeMissing'")
    assert json.loads(data)["missing"] == "boto3"
