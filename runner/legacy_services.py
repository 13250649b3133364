"""Legacy built-in services of the language runners (PROTOCOL §6.4), used only when no
service definition matches the name: jupyter and jupyterlab (python, julia, r), and the
python runner's ipython, tensorboard, digits, spectravis and sftp.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

JUPYTER_CONFIG = """\
c.ServerApp.allow_root = True
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = {port}
c.ServerApp.token = ""
c.ServerApp.password = ""
c.ServerApp.open_browser = False
c.ServerApp.tornado_settings = {{"ws_ping_interval": 10000}}
c.FileContentsManager.delete_to_trash = False
c.NotebookApp.allow_root = True
c.NotebookApp.ip = "0.0.0.0"
c.NotebookApp.port = {port}
c.NotebookApp.token = ""
c.NotebookApp.tornado_settings = {{"ws_ping_interval": 10000}}
"""
JUPYTER_LANGS = ("python", "julia", "r")


def legacy_command(lang: str, runtime: str, name: str, ports: list[int], scratch: Path,
                   work_dir: Path) -> tuple[list[str], Path] | None:
    """argv and cwd of a legacy built-in service, or None when the language has none."""
    port = ports[0] if ports else 8080
    base = lang.split(".", 1)[0]
    if name in ("jupyter", "jupyterlab") and (base in JUPYTER_LANGS or lang == "vendor.h2o"):
        config = _jupyter_config(port, scratch)
        app = "notebook" if name == "jupyter" else "jupyterlab"
        if base == "python" or lang == "vendor.h2o":
            return [runtime, "-m", app, "--no-browser", "--config", str(config)], work_dir
        return [runtime, "-m", "jupyter", app, "--no-browser", "--config", str(config)], work_dir
    if base != "python":
        return None
    table = {
        "ipython": [runtime, "-m", "IPython"],
        "digits": [runtime, "-m", "digits"],
        "tensorboard": [runtime, "-m", "tensorboard.main", "--logdir", str(work_dir / "logs"),
                        "--host", "0.0.0.0", "--port", str(port), "--debugger_port", "6064"],
        "spectravis": [runtime, "-m", "http.server", "8000"],
        "sftp": [runtime, "-m", "sftpserver", "--port", str(port)],
    }
    if name not in table:
        return None
    return table[name], (work_dir / "spectravis" if name == "spectravis" else work_dir)


def _jupyter_config(port: int, scratch: Path) -> Path:
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".py", dir=scratch, delete=False) as out:
        out.write(JUPYTER_CONFIG.format(port=port))
    return Path(out.name)
