"""The intrinsic sshd: a real ssh client logs in with the downloadable `id_container`.

Dropbear refuses root logins (`-w`, as the original), so the test makes a throwaway user whose
home is the runner's work folder, as in a container (`work`, `/home/work`); it needs root.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import sshd, ttyd
from runner.servicedefs import LaunchRefused
from tests.conftest import RunnerProcess, free_port
from tests.service_helpers import ROOT, log_rows

MISSING = [t for t in ("dropbear", "dropbearkey", "dropbearconvert", "ssh", "useradd")
           if shutil.which(t) is None and sshd._system(t) is None]
needs_sshd = pytest.mark.skipif(bool(MISSING) or os.geteuid() != 0,
                                reason=f"needs root and {', '.join(MISSING) or 'nothing else'} "
                                       "(tools/toolchains.py installs dropbear-bin, "
                                       "openssh-client)")


@pytest.fixture
def user_home() -> Iterator[tuple[str, Path]]:
    """A user like the container's `work`, its home a fresh folder it owns."""
    name = f"krs{uuid.uuid4().hex[:8]}"
    home = Path(tempfile.mkdtemp(prefix="krunner-home-", dir="/tmp"))
    home.chmod(0o755)
    subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell",
                    "/bin/sh", name], check=True)
    subprocess.run(["usermod", "-p", "*", name], check=True)  # no password, but not locked
    shutil.chown(home, name, name)
    try:
        yield name, home
    finally:
        subprocess.run(["userdel", name], check=False)
        shutil.rmtree(home, ignore_errors=True)


def _ssh(key: Path, user: str, port: int, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-i", str(key), "-p", str(port), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "ConnectTimeout=10", f"{user}@127.0.0.1", command],
        capture_output=True, text=True, timeout=30)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@needs_sshd
def test_a_user_logs_in_with_id_container_and_restarts_keep_keys_and_config(
        runner_factory, user_home: tuple[str, Path]) -> None:
    user, home = user_home
    probe: RunnerProcess = runner_factory("app")
    probe.stop()
    config = probe.home / "config"
    (config / "ssh").mkdir()
    cluster_key = config / "ssh" / "id_cluster"
    subprocess.run([*sshd.find_dropbear().keygen, "-t", "ed25519", "-f",  # type: ignore[union-attr]
                    str(cluster_key)], check=True, capture_output=True)
    (config / "ssh" / "id_cluster.pub").write_text("ssh-ed25519 AAAAC3Nza cluster@main1\n")
    r = runner_factory("app", "--work-dir", str(home), "--config-dir", str(config),
                       env={"BACKENDAI_CLUSTER_REPLICAS": "main:1,sub:2"})
    client = r.client()
    port = free_port()
    assert client.start_service("sshd", port) == {"status": "started"}
    key = home / "id_container"
    login = _ssh(key, user, port, "echo hello from $(id -un) in $PWD")
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"hello from {user} in {home}"
    assert (_mode(home / ".ssh"), _mode(home / ".ssh" / "authorized_keys"), _mode(key)) == (
        0o700, 0o600, 0o600)
    assert key.stat().st_uid == home.stat().st_uid  # the user's own files
    host_key = r.home / "state" / "dropbear" / "dropbear_rsa_host_key"
    first_host_key = host_key.read_bytes()
    client.shutdown_service("sshd")
    assert client.start_service("sshd", port) == {"status": "started"}  # again, same keys
    assert host_key.read_bytes() == first_host_key
    assert _ssh(key, user, port, "true").returncode == 0
    ssh_config = (home / ".ssh" / "config").read_text()
    assert ssh_config.count(sshd.CLUSTER_MARK) == 1  # written once, not on every start
    assert "Host main*" in ssh_config and "Host sub*" in ssh_config
    assert f"IdentityFile {cluster_key}" in ssh_config
    authorized = (home / ".ssh" / "authorized_keys").read_text()
    assert authorized.count("cluster@main1") == 1


def test_the_agents_dropbear_comes_first_then_dropbearmulti_then_the_systems(
        tmp_path: Path) -> None:
    kernel = tmp_path / "kernel"
    kernel.mkdir()
    multi = kernel / "dropbearmulti"
    multi.write_text("#!/bin/sh\n")
    multi.chmod(0o755)
    found = sshd.find_dropbear(kernel)
    assert found is not None and found.keygen == [str(multi), "dropbearkey"]
    for applet in sshd.APPLETS:
        (kernel / applet).write_text("#!/bin/sh\n")
        (kernel / applet).chmod(0o755)
    assert sshd.find_dropbear(kernel).server == [str(kernel / "dropbear")]  # type: ignore[union-attr]
    assert sshd.command(sshd.find_dropbear(kernel), Path("/k"), [2200, 2201]) == [  # type: ignore[arg-type]
        str(kernel / "dropbear"), "-r", "/k", "-E", "-F", "-g", "-w", "-K", "15", "-I", "0",
        "-p", "0.0.0.0:2200", "-p", "0.0.0.0:2201"]


def test_ttyd_without_its_binary_is_a_clear_failure(runner: RunnerProcess) -> None:
    if ttyd.find_ttyd() is not None:
        pytest.skip("this machine has a ttyd")
    reply = runner.client().start_service("ttyd", free_port(), protocol="http")
    assert reply["status"] == "failed"
    assert reply["error"].startswith("ttyd is not available in this container")
    runner.stop()
    [(logged,)] = log_rows(runner.log_path, "SELECT json_extract(data, '$.reason') FROM events "
                           "WHERE source = 'service:ttyd' AND name = 'ServiceStartFailed'")
    assert logged == reply["error"]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (tools/toolchains.py)")
def test_ttyd_runs_the_shell_in_tmux_with_a_stand_in_ttyd(runner_factory,
                                                          tmp_path: Path) -> None:
    bin_dir, tmux_dir, record = tmp_path / "bin", tmp_path / "tmux", tmp_path / "argv.json"
    bin_dir.mkdir()
    tmux_dir.mkdir()
    (bin_dir / "ttyd").symlink_to(ROOT / "tests" / "ttyd_standin.py")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "TTYD_STANDIN_RECORD": str(record),
           "TMUX_TMPDIR": str(tmux_dir)}
    r = runner_factory("app", env=env)
    (r.work_dir / ".tmux.conf").write_text("new-session\n")  # what the agent copies in
    port = free_port()
    try:
        assert r.client().start_service("ttyd", port, protocol="http") == {"status": "started"}
        shell = ttyd.pick_shell()
        assert json.loads(record.read_text()) == [
            "-p", str(port), f"/bin/{shell}", "-c",
            f"export SHELL=/bin/{shell}; {ttyd.find_tmux()} -2 attach"]
        sessions = _tmux_sessions(tmux_dir)
        assert len(sessions) == 1, sessions  # `attach` made the session, as in a container
    finally:
        subprocess.run(["tmux", "kill-server"], env={**os.environ, "TMUX_TMPDIR": str(tmux_dir)},
                       capture_output=True)


def _tmux_sessions(tmux_dir: Path, within: float = 15.0) -> list[str]:
    deadline = time.monotonic() + within
    while True:
        listed = subprocess.run(["tmux", "ls"], capture_output=True, text=True,
                                env={**os.environ, "TMUX_TMPDIR": str(tmux_dir)})
        if listed.returncode == 0 or time.monotonic() > deadline:
            return listed.stdout.splitlines()
        time.sleep(0.1)


def test_ttyd_command_lines(tmp_path: Path) -> None:
    with pytest.raises(LaunchRefused):
        ttyd.command(None, 7681)
    binary = tmp_path / "ttyd"
    argv = ttyd.command(binary, 7681, shell="bash", tmux="/usr/bin/tmux")
    assert argv == [str(binary), "-p", "7681", "/bin/bash", "-c",
                    "export SHELL=/bin/bash; /usr/bin/tmux -2 attach"]
    assert ttyd.command(binary, 7681, shell="ash") == [str(binary), "-p", "7681", "/bin/ash"]
    assert ttyd.command(Path("/opt/kernel/ttyd"), 1, shell="sh", tmux="t")[1] == "-W"
