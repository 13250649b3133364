"""`python -m bench.logdisk [--runs 100]`: a real runner's memory while its log disk is full.

The runner's log lives on a 16 MB tmpfs of a private mount namespace (root, unshare(1) and
nsenter(1) needed); the tmpfs is filled, then the agent sends `--runs` batch runs of about
2 MB of output each. The runner's resident memory (VmRSS) is read before the first run and
after every tenth; the figures print as one JSON object. A log writer that keeps everything
it cannot write grows by the output of every run; a bounded one levels off.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.launch import start_runner

RUN = "head -c 1500000 /dev/urandom | base64"  # about 2 MB of output


class HeldTmpfs:
    """A small tmpfs in a mount namespace of its own, held by a sleeping process, so it
    outlives a runner started inside it (`prefix`) and never shows on the host."""

    def __init__(self, parent: Path, size: str) -> None:
        self.dir = parent / "logfs"
        self.dir.mkdir()
        mount = f'mount -t tmpfs -o size={size} tmpfs "$0" && echo mounted && exec sleep 3600'
        self.holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh",
                                        "-c", mount, str(self.dir)], stdout=subprocess.PIPE)
        assert self.holder.stdout is not None
        if self.holder.stdout.readline() != b"mounted\n":
            raise RuntimeError("could not mount a private tmpfs (root, unshare -m needed)")
        self.prefix = ("nsenter", "-t", str(self.holder.pid), "-m")

    def run(self, script: str) -> None:
        subprocess.run([*self.prefix, "sh", "-c", script], check=False, capture_output=True)

    def fill(self) -> None:
        self.run(f"dd if=/dev/zero of={self.dir}/filler bs=64k")

    def copy_log(self, into: Path) -> Path:
        self.run(f"cp {self.dir}/events.sqlite3* {into}/")
        return into / "events.sqlite3"

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait()


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for {pid}")


def measure(folder: Path, runs: int, every: int = 10) -> dict[str, object]:
    """RSS (MiB) of a runner whose log disk is full, before the runs and every `every`."""
    fs = HeldTmpfs(folder, "16m")
    runner = start_runner(folder, "python", "--log", str(fs.dir / "events.sqlite3"),
                          prefix=fs.prefix)
    try:
        client = runner.client(timeout=120)
        client.query("print('warm')")
        fs.fill()
        client.batch(exec="true")
        samples = {0: round(rss_mib(runner.proc.pid), 1)}
        for n in range(1, runs + 1):
            result = client.batch(exec=RUN)
            if result.exec_exit != 0:
                raise RuntimeError(f"run {n} exited {result.exec_exit}")
            if n % every == 0 or n == runs:
                samples[n] = round(rss_mib(runner.proc.pid), 1)
        gaps = runner.stderr_text().count("EVENT LOG GAP")
    finally:
        runner.stop()
        fs.close()
    return {"runs": runs, "output_per_run": "~2 MB (" + RUN + ")", "rss_mib_after_runs": samples,
            "rss_start_mib": samples[0], "rss_end_mib": samples[runs],
            "gap_lines_on_stderr": gaps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-logdisk-") as tmp:
        print(json.dumps(measure(Path(tmp), args.runs), indent=2))


if __name__ == "__main__":
    sys.exit(main())
