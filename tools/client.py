"""The agent's side of the protocol, for demos, tests and benches: send an op, collect replies.

    python -m tools.client --in 2000 --out 2001 query 'print(1)'
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
import zmq

CONSOLE_TYPES = ("stdout", "stderr", "media", "html", "log")


@dataclass(slots=True)
class RunResult:
    """What the agent collects for one `code` or one batch step."""

    exit_code: int | None = None
    console: list[tuple[str, bytes]] = field(default_factory=list)
    waiting_inputs: list[dict[str, Any]] = field(default_factory=list)

    def _joined(self, kind: str) -> str:
        return b"".join(d for t, d in self.console if t == kind).decode("utf-8", "replace")

    @property
    def stdout(self) -> str:
        return self._joined("stdout")

    @property
    def stderr(self) -> str:
        return self._joined("stderr")

    @property
    def media(self) -> list[dict[str, Any]]:
        return [json.loads(d) for t, d in self.console if t == "media"]

    @property
    def html(self) -> list[str]:
        return [d.decode() for t, d in self.console if t == "html"]


@dataclass(slots=True)
class BatchResult:
    clean: RunResult
    build: RunResult
    exec: RunResult

    @property
    def clean_exit(self) -> int | None:
        return self.clean.exit_code

    @property
    def build_exit(self) -> int | None:
        return self.build.exit_code

    @property
    def exec_exit(self) -> int | None:
        return self.exec.exit_code

    @property
    def stdout(self) -> str:
        return self.clean.stdout + self.build.stdout + self.exec.stdout

    @property
    def stderr(self) -> str:
        return self.clean.stderr + self.build.stderr + self.exec.stderr

    @property
    def waiting_inputs(self) -> list[dict[str, Any]]:
        return self.exec.waiting_inputs


class AgentClient:
    """PUSH to the runner's input port, PULL from its output port, like the agent."""

    def __init__(self, host: str = "127.0.0.1", input_port: int = 2000, output_port: int = 2001,
                 *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._ctx = zmq.Context()
        self._push = self._ctx.socket(zmq.PUSH)
        self._push.setsockopt(zmq.LINGER, 50)
        self._push.connect(f"tcp://{host}:{input_port}")
        self._pull = self._ctx.socket(zmq.PULL)
        self._pull.setsockopt(zmq.LINGER, 50)
        self._pull.connect(f"tcp://{host}:{output_port}")
        self.skipped: list[tuple[str, bytes]] = []

    def close(self) -> None:
        self._ctx.destroy(linger=0)

    def send(self, op: str, payload: bytes | str = b"") -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self._push.send_multipart([op.encode(), data])

    def send_raw(self, frames: list[bytes]) -> None:
        self._push.send_multipart(frames)

    def recv(self, timeout: float | None = None, waiting_for: str = "a message"
             ) -> tuple[str, bytes]:
        wait = self.timeout if timeout is None else timeout
        if not self._pull.poll(int(wait * 1000)):
            raise TimeoutError(f"no reply from the runner within {wait:.1f} s "
                               f"(waiting for {waiting_for})")
        frames = self._pull.recv_multipart()
        if len(frames) != 2:
            raise ValueError(f"the runner sent a {len(frames)}-frame message: {frames!r}")
        return frames[0].decode("ascii"), frames[1]

    def wait_for(self, msg_type: str, timeout: float | None = None) -> bytes:
        """The payload of the next `msg_type`; other messages are kept in `skipped`."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            kind, data = self.recv(left, waiting_for=msg_type)
            if kind == msg_type:
                return data
            self.skipped.append((kind, data))

    def status(self, timeout: float | None = None) -> dict[str, Any]:
        self.send("status")
        return msgpack.unpackb(self.wait_for("status", timeout))

    def collect(self, terminal: str, inputs: Iterable[str] = (),
                timeout: float | None = None) -> RunResult:
        """Console records until `terminal`, answering `waiting-input` from `inputs`."""
        answers = iter(inputs)
        result = RunResult()
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            kind, data = self.recv(max(deadline - time.monotonic(), 0.0), waiting_for=terminal)
            if kind == terminal:
                result.exit_code = json.loads(data).get("exitCode")
                return result
            if kind == "waiting-input":
                result.waiting_inputs.append(json.loads(data) if data else {})
                self.send("input", next(answers, ""))
            elif kind in CONSOLE_TYPES:
                result.console.append((kind, data))
            else:
                self.skipped.append((kind, data))

    def query(self, code: str, *, inputs: Iterable[str] = (), timeout: float | None = None
              ) -> RunResult:
        self.send("code", code)
        return self.collect("finished", inputs, timeout)

    def batch(self, clean: str = "", build: str = "", exec: str = "",
              inputs: Iterable[str] = (), timeout: float | None = None) -> BatchResult:
        """The three sends of an agent batch run, and the three results."""
        self.send("clean", clean)
        self.send("build", build)
        self.send("exec", exec)
        return BatchResult(self.collect("clean-finished", (), timeout),
                           self.collect("build-finished", (), timeout),
                           self.collect("finished", inputs, timeout))

    def complete(self, code: str, timeout: float | None = None) -> list[str]:
        self.send("complete", json.dumps({"code": code, "options": {}}))
        return json.loads(self.wait_for("completion", timeout))["suggestions"]

    def interrupt(self) -> None:
        self.send("interrupt", "")

    def get_apps(self, name: str = "", timeout: float | None = None) -> dict[str, Any]:
        self.send("get-apps", name)
        return json.loads(self.wait_for("apps-result", timeout))

    def start_service(self, name: str, port: int, protocol: str = "tcp",
                      options: dict[str, Any] | None = None, timeout: float | None = None
                      ) -> dict[str, Any]:
        request = {"name": name, "port": port, "ports": [port], "protocol": protocol,
                   "options": options or {}}
        self.send("start-service", json.dumps(request))
        return json.loads(self.wait_for("service-result", timeout))

    def start_model_service(self, model: dict[str, Any], timeout: float | None = None
                            ) -> dict[str, Any]:
        self.send("start-model-service", json.dumps(model))
        return json.loads(self.wait_for("model-service-result", timeout))

    def shutdown_service(self, name: str) -> None:
        self.send("shutdown-service", json.dumps(name))

    def event(self, kind: str, data: dict[str, Any] | None = None) -> None:
        self.send("event", json.dumps({"type": kind, "data": data or {}}))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="client", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--in", dest="input_port", type=int, default=2000)
    p.add_argument("--out", dest="output_port", type=int, default=2001)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("op", choices=("status", "query", "exec", "complete", "apps"))
    p.add_argument("text", nargs="?", default="")
    a = p.parse_args(argv)
    client = AgentClient(a.host, a.input_port, a.output_port, timeout=a.timeout)
    try:
        if a.op == "status":
            print(client.status())
        elif a.op == "query":
            r = client.query(a.text)
            sys.stdout.write(r.stdout)
            sys.stderr.write(r.stderr)
            return 0 if r.exit_code == 0 else 1
        elif a.op == "exec":
            r = client.batch(exec=a.text).exec
            sys.stdout.write(r.stdout)
            sys.stderr.write(r.stderr)
            return 0 if r.exit_code == 0 else 1
        elif a.op == "complete":
            print("\n".join(client.complete(a.text)))
        else:
            print(json.dumps(client.get_apps(a.text), indent=2))
    except TimeoutError as e:
        print(f"client: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
