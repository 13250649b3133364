"""The original runner (`backend.ai-kernel==23.9.10`), installed and started for comparisons.

It is installed with ipykernel from the package registry into `build/original` (no pins were
needed on Python 3.11). Outside a container it needs `/home/work` as cwd and HOME,
`/home/config/intrinsic-ports.json` for its ports and `BACKENDAI_KERNEL_ID`; it runs in a
private mount namespace (`unshare -m`, tmpfs on /home and /tmp) so it touches none of the
machine's real folders. Needs root (for the mount namespace).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "build" / "original"
PACKAGES = ("backend.ai-kernel==23.9.10", "ipykernel")

LAUNCH = """
mount -t tmpfs tmpfs /home && mount -t tmpfs tmpfs /tmp &&
mkdir -p /home/work /home/config &&
printf '{"replin": %d, "replout": %d}' "$1" "$2" > /home/config/intrinsic-ports.json &&
cd /home/work && exec env HOME=/home/work BACKENDAI_KERNEL_ID="$3" \
  "$4" -m ai.backend.kernel "$5" ${6:+"$6"}
"""


def install() -> Path:
    """The original's Python, installing it first if needed."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import ai.backend.kernel, ipykernel"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


@dataclass
class OriginalRunner:
    proc: subprocess.Popen[bytes]
    input_port: int
    output_port: int

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it hangs in shutdown (it does when no agent reads, §1.7)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_original(input_port: int, output_port: int, lang: str = "python"
                   ) -> OriginalRunner:
    """Start it; the process id is the runner's own (unshare, sh and env all exec).

    A `python` runner gets its own Python as runtime path; other languages their default.
    Its work folder is `/proc/<pid>/root/home/work` from outside its mount namespace.
    """
    python = install()
    argv = ["unshare", "-m", "sh", "-c", LAUNCH, "original", str(input_port), str(output_port),
            str(uuid.uuid4()), str(python), lang, str(python) if lang == "python" else ""]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return OriginalRunner(proc, input_port, output_port)


if __name__ == "__main__":
    print(install())
