"""Start a real runner process on free ports with its own folders and log (tests, demo, bench)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tools.client import AgentClient

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RunnerProcess:
    """A runner we started: its process, folders, log file and the agent-side client."""

    proc: subprocess.Popen[bytes]
    home: Path
    log_path: Path
    input_port: int
    output_port: int
    clients: list[AgentClient] = field(default_factory=list)

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    def client(self, timeout: float = 60.0) -> AgentClient:
        """The agent's connection (one: a second PULL would take every other reply)."""
        if not self.clients:
            self.clients.append(AgentClient("127.0.0.1", self.input_port, self.output_port,
                                            timeout=timeout))
        return self.clients[0]

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; the exit code (the process is killed if it does not exit)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            for client in self.clients:
                client.close()
            self.clients.clear()

    def stderr_text(self) -> str:
        return (self.home / "runner.stderr").read_text(errors="replace")


def start_runner(parent: Path, lang: str = "python", *extra: str,
                 env: dict[str, str] | None = None, prefix: tuple[str, ...] = (),
                 files: dict[str, str] | None = None, module: str = "runner",
                 pick_ports: bool = True, log: bool = True,
                 runtime: str | None = sys.executable) -> RunnerProcess:
    """A runner in a fresh folder under `parent`, bound to ports the system picked.

    `prefix` goes before the command (e.g. `unshare -m ...` that ends by exec-ing it);
    `files` (paths relative to the runner's folder) are written before it starts;
    `pick_ports=False` leaves the ports to the runner (its defaults or intrinsic-ports.json);
    `log=False` leaves the log's place to the runner too (`log_path` is then only a guess);
    `runtime` is the runtime path the agent passes (None: none).
    """
    home = Path(tempfile.mkdtemp(prefix="runner-", dir=parent))
    for sub in ("work", "config", "service-defs", "state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    for relative, text in (files or {}).items():
        (home / relative).write_text(text)
    log_path = home / "events.sqlite3"
    ports = ["--input-port", "0", "--output-port", "0"] if pick_ports else []
    argv = [*prefix, sys.executable, "-m", module, lang, *([runtime] if runtime else []),
            *ports,
            "--work-dir", str(home / "work"), "--config-dir", str(home / "config"),
            "--service-defs", str(home / "service-defs"), "--state-dir", str(home / "state"),
            "--user-input-socket", str(home / "input.sock"),
            *(["--log", str(log_path)] if log else []), *extra]
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    with open(home / "runner.stderr", "wb") as stderr:
        proc = subprocess.Popen(argv, cwd=home / "work", env=child_env,
                                stdout=subprocess.PIPE, stderr=stderr)
    inp, out = (_bound_port(proc) for _ in range(2))
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # type: ignore[union-attr]
    return RunnerProcess(proc, home, log_path, inp, out)


def _bound_port(proc: subprocess.Popen[bytes]) -> int:
    """The port of the runner's next `binding to tcp://*:PORT` line."""
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("binding to tcp://"):
        proc.kill()
        raise RuntimeError(f"the runner did not bind its sockets: {line!r}")
    return int(line.rsplit(":", 1)[1])
