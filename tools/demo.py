"""`make demo`: a real runner driven through a real session, then what its log recorded.

The session: query mode with state, input and an error; a batch run whose build fails; a
model service that becomes healthy, is overloaded for a while (its server answers 503),
recovers and is shut down. Afterwards: the runs' state timeline, the model's health summary
and picture, the session's transcript, and an offline replay of that transcript. Everything
stays in `build/demo/` (replaced by the next demo); the demo prints the commands that look
at it, and ends by writing the session's report (`report.html`) and printing its path.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from tools import inspect as inspect_tool
from tools import replay as replay_tool
from tools import transcript as transcript_tool
from tools.client import AgentClient
from tools.launch import ROOT, RunnerProcess, start_runner
from tools.ports import free_port

DEMO_DIR = ROOT / "build" / "demo"  # kept after the demo, replaced by the next one


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


MODEL_SERVER = """
import http.server, pathlib, sys

FLAG = pathlib.Path(__file__).with_name("overloaded")


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        busy = FLAG.exists()
        self.send_response(503 if busy else 200)
        self.end_headers()
        self.wfile.write(b"overloaded" if busy else b"ok")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


def model_service(runner: RunnerProcess, client: AgentClient, port: int) -> None:
    say("a model service: healthy, overloaded for a while (503), recovered, shut down")
    model_dir = runner.home / "model"
    model_dir.mkdir()
    (model_dir / "server.py").write_text(MODEL_SERVER)
    model = {"name": "demo-llm", "model_path": str(model_dir), "service": {
        "start_command": [sys.executable, str(model_dir / "server.py"), str(port)],
        "port": port, "health_check": {"path": "/health", "max_retries": 3,
                                       "max_wait_time": 0.5}}}
    show("start-model-service", client.start_model_service(model))
    show("model-service-status", json.loads(client.wait_for("model-service-status", 30)))
    time.sleep(2.0)  # passing probes for the history
    (model_dir / "overloaded").touch()
    show("overloaded", json.loads(client.wait_for("model-service-status", 30)))
    time.sleep(2.0)
    (model_dir / "overloaded").unlink()
    show("recovered", json.loads(client.wait_for("model-service-status", 30)))
    time.sleep(1.5)
    client.shutdown_service(f"demo-llm-{port}")
    client.status()  # answered after the shutdown was taken in


def main() -> int:
    folder = DEMO_DIR
    if folder.exists():
        shutil.rmtree(folder)  # the previous demo's; this one stays until the next
    folder.mkdir(parents=True)
    log = folder / "events.sqlite3"
    say(f"starting a runner (everything it makes stays in {_shown(folder)})")
    runner = start_runner(folder, "python", "--log", str(log))
    client = runner.client()
    began = time.monotonic()
    client.status()
    show("first status after", f"{time.monotonic() - began:.3f} s")
    try:
        query_mode(client)
        batch_mode(client)
        model_service(runner, client, free_port())
    finally:
        show("runner exit code", runner.stop())
    return look(folder, log, runner.work_dir)


def look(folder: Path, log: Path, work: Path) -> int:
    """What the log holds, with the tools a user would run; then the commands to try."""
    say("the runs and the kernel, as state timelines (krunner-inspect timeline)")
    inspect_tool.main(["--log", str(log), "timeline"])
    say("a model went unhealthy: when and why (krunner-inspect health)")
    picture = folder / "health.svg"
    inspect_tool.main(["--log", str(log), "health", "--probes", "8", "--picture", str(picture),
                       "--picture", str(folder / "health.png")])
    transcript = folder / "session.jsonl"
    say("its transcript, a file to attach to a ticket (krunner-transcript export)")
    transcript_tool.main(["export", "--log", str(log), "--out", str(transcript)])
    show_transcript(transcript)
    say("offline replay from that transcript alone (krunner-replay offline)")
    code = replay_tool.main(["offline", "--transcript", str(transcript)])
    say(f"all of it is kept in {_shown(folder)}; look at it yourself:")
    bin_dir = _shown(Path(sys.executable).parent)
    for line in COMMANDS:
        print("   " + line.format(bin=bin_dir, log=_shown(log), folder=_shown(folder),
                                  transcript=_shown(transcript), work=_shown(work)))
    report = folder / "report.html"
    say("the session as one page for a browser (krunner-transcript report)")
    made = transcript_tool.main(["report", str(transcript), "-o", str(report), "--quiet"])
    if made != 0:
        return made
    print(f"   open it in a browser: {report.resolve()}", flush=True)
    return code


COMMANDS = [
    "{bin}/krunner-inspect --log {log} sessions",
    "{bin}/krunner-inspect --log {log} health                 # when and why",
    "{bin}/krunner-inspect --log {log} health --picture {folder}/health.svg",
    "{bin}/krunner-inspect --log {log} events --source model:demo-llm --since 1h -n 30",
    "{bin}/krunner-inspect --log {log} events --kind input --full",
    "{bin}/krunner-transcript verify {transcript}",
    "{bin}/krunner-replay offline --transcript {transcript}",
    "{bin}/krunner-replay live --log {log} --work-dir {work}",
]


def _shown(path: Path) -> str:
    """A path as short as it can be said from here."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


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


if __name__ == "__main__":
    sys.exit(main())
