"""`make demo`: a real runner driven through a real session, then what its log recorded.

The session: query mode with state, input and an error; a batch run whose build fails; a
model service that becomes healthy and then dies. Afterwards: the runs' state timeline, the
model's health history, the session's transcript, and an offline replay of that transcript
that checks every machine against what was recorded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from tools import inspect as inspect_tool
from tools import replay as replay_tool
from tools import transcript as transcript_tool
from tools.client import AgentClient
from tools.launch import RunnerProcess, start_runner


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def show(label: str, result: object) -> None:
    print(f"   {label}: {result}", flush=True)


def query_mode(client: AgentClient) -> None:
    say("query mode through a real ipykernel")
    r = client.query("answer = 6 * 7\nprint('the answer is', answer)")
    show("print", (r.exit_code, r.stdout.strip()))
    r = client.query("name = input('your name? ')\nprint('hello,', name)", inputs=["Ada"])
    show("input()", (r.exit_code, r.waiting_inputs, r.stdout.strip()))
    r = client.query("answer / 0")
    show("error", (r.exit_code, r.stderr.strip().splitlines()[-1]))
    show("completion of 'ans'", client.complete("ans"))


def batch_mode(client: AgentClient) -> None:
    say("batch mode: a build that fails skips the exec")
    r = client.batch(clean="echo cleaning", build="echo compiling; exit 2", exec="echo never")
    show("exit codes clean/build/exec", (r.clean_exit, r.build_exit, r.exec_exit))


def model_service(runner: RunnerProcess, client: AgentClient, port: int) -> None:
    say("a model service: healthy, then its server dies")
    model_dir = runner.home / "model"
    model_dir.mkdir()
    model = {"name": "demo-llm", "model_path": str(model_dir), "service": {
        "start_command": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                          str(port)], "port": port,
        "health_check": {"path": "/", "max_retries": 3, "max_wait_time": 0.5}}}
    show("start-model-service", client.start_model_service(model))
    show("model-service-status", json.loads(client.wait_for("model-service-status", 30)))
    time.sleep(1.2)  # a few passing probes for the history
    os.kill(_model_pid(runner), signal.SIGKILL)
    show("after SIGKILL", json.loads(client.wait_for("model-service-status", 30)))


def _model_pid(runner: RunnerProcess) -> int:
    db = sqlite3.connect(runner.log_path)
    try:
        row = db.execute("SELECT json_extract(data, '$.pid') FROM events "
                         "WHERE source='model:demo-llm' AND name='ServiceSpawned'").fetchone()
    finally:
        db.close()
    return int(row[0])


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="krunner-demo-") as tmp:
        say("starting a runner")
        runner = start_runner(Path(tmp))
        client = runner.client()
        began = time.monotonic()
        client.status()
        show("first status after", f"{time.monotonic() - began:.3f} s")
        port = _free_port()
        try:
            query_mode(client)
            batch_mode(client)
            model_service(runner, client, port)
        finally:
            show("runner exit code", runner.stop())
        log = str(runner.log_path)
        say("the runs and the kernel, as state timelines (tools.inspect timeline)")
        inspect_tool.main(["--log", log, "timeline"])
        say("the model's health history (tools.inspect health)")
        inspect_tool.main(["--log", log, "health"])
        transcript = str(Path(tmp) / "session.jsonl")
        say("its transcript, a file to attach to a ticket (tools.transcript export)")
        transcript_tool.main(["export", "--log", log, "--out", transcript])
        show_transcript(Path(transcript))
        say("offline replay from that transcript alone (tools.replay offline)")
        return replay_tool.main(["offline", "--transcript", transcript])


def show_transcript(path: Path, shown: int = 12) -> None:
    """The first events of the transcript, one line each, payloads shortened."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines[1:shown + 1]:
        e = json.loads(line)
        move = f" {e['from']} -> {e['to']}" if e["to"] else ""
        payload = e["data"]
        text = payload.get("$utf8") if isinstance(payload, dict) else None
        data = repr(text) if text is not None else json.dumps(payload, ensure_ascii=False)
        print(f"   {e['seq']:>3} {e['source']:<14} {e['kind']:<11} {e['name']}{move}  "
              f"{data if len(data) <= 50 else data[:47] + '...'}")
    print(f"   ... {len(lines) - 2} events in {path.name}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
