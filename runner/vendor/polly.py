"""`vendor.aws_polly`: each query is a JSON request; Amazon Polly's speech comes back as `media`.

The request is what the original expected, `{"text": ..., "voiceId": ..., "textType": ...}`
(textType `text` or `ssml`, default `text`); the audio is Ogg Vorbis, sent as
`{"type": <content type>, "data": "data:<content type>;base64,..."}`. Credentials and region
come from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`,
default `ap-northeast-2`), the endpoint from `AWS_ENDPOINT_URL_POLLY` if set. Unlike the
original, a request that is not JSON, a refused or unreachable endpoint and a Polly error each
end the query with a message on `stderr` and an exit code instead of hanging, and a runner
without boto3 says so (exit 127).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runner.drivers import Driver, Step
from runner.kernel_errors import InputSource, OutputSink
from transcripts.events import KERNEL, OBSERVATION, stamped

REQUEST_SHAPE = '{"text": "...", "voiceId": "Joanna", "textType": "text" or "ssml"}'
OUTPUT_FORMAT = "ogg_vorbis"
DEFAULT_REGION = "ap-northeast-2"
NO_BOTO3 = ("vendor.aws_polly needs the boto3 package, which is not installed in the runner's "
            "Python: install it there (pip install 'krunner[aws-polly]' or pip install boto3)\n")
BAD_REQUEST, POLLY_FAILED, MISSING, INTERRUPTED = 2, 1, 127, -2


class BadRequest(ValueError):
    """The query text is not a request Polly can be given."""


def parse_request(code: str) -> dict[str, str]:
    """The synthesize_speech arguments of a query, or BadRequest saying what is wrong."""
    try:
        request = json.loads(code)
    except ValueError as e:
        raise BadRequest(f"the query is not JSON ({e})") from e
    if not isinstance(request, dict):
        raise BadRequest("the query is JSON but not an object")
    text, voice = request.get("text"), request.get("voiceId")
    text_type = request.get("textType", "text")
    if not isinstance(text, str) or not text:
        raise BadRequest('"text" is missing or empty')
    if not isinstance(voice, str) or not voice:
        raise BadRequest('"voiceId" is missing or empty')
    if text_type not in ("text", "ssml"):
        raise BadRequest(f'"textType" must be "text" or "ssml", not {text_type!r}')
    return {"Text": text, "VoiceId": voice, "TextType": text_type,
            "OutputFormat": OUTPUT_FORMAT}


def make_client(env: dict[str, str]) -> Any:
    """A Polly client with timeouts, so an unreachable endpoint fails instead of hanging."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
        region_name=env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION)
    config = Config(connect_timeout=5, read_timeout=30,
                    retries={"mode": "standard", "max_attempts": 2})
    endpoint = env.get("AWS_ENDPOINT_URL_POLLY") or env.get("AWS_ENDPOINT_URL") or None
    return session.client("polly", endpoint_url=endpoint, config=config)


def synthesize(client: Any, arguments: dict[str, str]) -> tuple[str, bytes]:
    """Call Polly (blocking: run it in a thread); the content type and the whole audio."""
    response = client.synthesize_speech(**arguments)
    with response["AudioStream"] as stream:
        return response.get("ContentType") or "application/octet-stream", stream.read()


class PollyDriver(Driver):
    """Speech synthesis through boto3 in the runner's own Python; no batch mode."""

    lang = "vendor.aws_polly"
    default_runtime = sys.executable
    has_query = True

    def __init__(self, runtime_path: str | None, work_dir: Path) -> None:
        super().__init__(None, work_dir)  # no runtime path: the runner's Python calls Polly
        self._emit: Callable[[Any], None] = lambda event: None
        self._client: Any = None
        self._missing: str | None = None
        self._call: asyncio.Future[tuple[str, bytes]] | None = None
        self._interrupted = False

    def attach(self, runner: Any) -> None:
        self._emit = runner.emit

    def heuristic(self, op: str) -> Step:
        if op == "clean":
            return Step(exit_code=0)
        return Step(exit_code=127, message="vendor.aws_polly has no batch mode: send the "
                                           f"request as a query, {REQUEST_SHAPE}\n")

    async def start(self, kernel_dir: Path, env: dict[str, str],
                    on_death: Callable[[str], None],
                    throttle: Callable[[], Awaitable[None]]) -> None:
        try:
            self._client = await asyncio.to_thread(make_client, env)
        except ImportError as e:
            self._missing = NO_BOTO3
            self._emit(stamped(KERNEL, OBSERVATION, "RuntimeMissing",
                               {"lang": self.lang, "missing": "boto3", "error": str(e)}))

    async def query(self, code: str, on_output: OutputSink, on_input: InputSource) -> int:
        if self._missing is not None:
            on_output("stderr", self._missing.encode())
            return MISSING
        try:
            arguments = parse_request(code)
        except BadRequest as e:
            on_output("stderr", f"vendor.aws_polly: {e}; expected {REQUEST_SHAPE}\n".encode())
            return BAD_REQUEST
        self._interrupted = False
        self._call = asyncio.ensure_future(asyncio.to_thread(synthesize, self._client,
                                                             arguments))
        try:
            content_type, audio = await self._call
        except asyncio.CancelledError:
            if not self._interrupted:
                raise
            on_output("stderr", b"vendor.aws_polly: interrupted\n")
            return INTERRUPTED
        except Exception as e:  # botocore's errors: refused, timed out, Polly said no
            on_output("stderr", f"vendor.aws_polly: Amazon Polly failed: {e}\n".encode())
            return POLLY_FAILED
        finally:
            self._call = None
        data = f"data:{content_type};base64,{base64.b64encode(audio).decode('ascii')}"
        on_output("media", json.dumps({"type": content_type, "data": data}).encode())
        return 0

    async def interrupt(self) -> None:
        """Stop waiting for Polly (the HTTP call itself ends by its own timeouts)."""
        if self._call is not None and not self._call.done():
            self._interrupted = True
            self._call.cancel()
