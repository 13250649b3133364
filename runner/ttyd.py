"""The intrinsic ttyd (PROTOCOL §6.4): a web terminal on the user's shell inside tmux.

The shell is zsh, bash, ash or sh, the first that exists; unless it is ash, ttyd runs it with
`-c "export SHELL=...; tmux -2 attach"` (the agent's `.tmux.conf` holds `new-session`, so
`attach` creates the session). Binaries: `/opt/kernel/ttyd` (newest agents, with `-W`),
`/opt/backend.ai/bin/ttyd`, else one on the PATH; tmux from `/opt/kernel/tmux`, else the
system's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from runner.servicedefs import LaunchRefused

TTYD_PATHS = (Path("/opt/kernel/ttyd"), Path("/opt/backend.ai/bin/ttyd"))
TMUX_PATHS = (Path("/opt/kernel/tmux"),)
SHELLS = ("zsh", "bash", "ash", "sh")


def find_ttyd(candidates: tuple[Path, ...] = TTYD_PATHS, *, search_path: bool = True
              ) -> Path | None:
    """The agent's ttyd, else one on the PATH (Debian trixie and later package it)."""
    found = next((p for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)
    on_path = shutil.which("ttyd") if search_path else None
    return found or (Path(on_path) if on_path else None)


def find_tmux(candidates: tuple[Path, ...] = TMUX_PATHS) -> str:
    found = next((str(p) for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)
    return found or shutil.which("tmux") or "tmux"


def pick_shell(bin_dir: Path = Path("/bin")) -> str:
    return next(s for s in SHELLS if (bin_dir / s).exists() or s == "sh")


def command(ttyd: Path | None, port: int, *, shell: str | None = None,
            tmux: str | None = None, bin_dir: Path = Path("/bin")) -> list[str]:
    """ttyd's argv, or a clear refusal when the container has no ttyd."""
    if ttyd is None:
        tried = ", ".join(str(p) for p in TTYD_PATHS)
        raise LaunchRefused(f"ttyd is not available in this container (looked for {tried} "
                            "and on the PATH)")
    shell = shell or pick_shell(bin_dir)
    argv = [str(ttyd)]
    if ttyd.parent == Path("/opt/kernel"):
        argv.append("-W")  # newest agents: a writable terminal
    argv += ["-p", str(port), f"{bin_dir}/{shell}"]
    if shell != "ash":
        argv += ["-c", f"export SHELL={bin_dir}/{shell}; {tmux or find_tmux()} -2 attach"]
    return argv
