"""The intrinsic sshd (dropbear), PROTOCOL §6.4: binaries, keys, cluster config, command line.

Binaries come from the agent's `/opt/kernel` (`dropbear`, `dropbearkey`, `dropbearconvert`, or
`dropbearmulti APPLET`) first, then the system's (Debian `dropbear-bin`). Preparation runs
before every start and is idempotent: the host key is made once (an existing one is kept,
where the original failed), the user's key only when there is no `authorized_keys`, and the
cluster entries of `~/.ssh/config` are written once (the original appended them on every
start). Files belong to the owner of the work folder, with modes 0700/0600.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from runner.servicedefs import LaunchRefused

KERNEL_DIR = Path("/opt/kernel")
SYSTEM_DIRS = (Path("/usr/sbin"), Path("/usr/bin"), Path("/usr/lib/dropbear"))
APPLETS = ("dropbear", "dropbearkey", "dropbearconvert")
CLUSTER_MARK = "# krunner: cluster hosts (written once)"
KEYGEN_TIMEOUT = 4.0


@dataclass(frozen=True, slots=True)
class Dropbear:
    """argv prefixes of the three programs."""

    server: list[str]
    keygen: list[str]
    convert: list[str]


def find_dropbear(kernel_dir: Path = KERNEL_DIR) -> Dropbear | None:
    """The agent's binaries first, then the system's; None when there is no dropbear."""
    multi = kernel_dir / "dropbearmulti"
    if all(_executable(kernel_dir / a) for a in APPLETS):
        return Dropbear(*([str(kernel_dir / a)] for a in APPLETS))
    if _executable(multi):
        return Dropbear(*([str(multi), a] for a in APPLETS))
    found = [_system(a) for a in APPLETS]
    if all(found):
        return Dropbear(*([f] for f in found if f))
    return None


def _system(program: str) -> str | None:
    found = shutil.which(program)
    if found:
        return found
    return next((str(d / program) for d in SYSTEM_DIRS if _executable(d / program)), None)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


async def prepare(dropbear: Dropbear, work_dir: Path, config_dir: Path, key_dir: Path,
                  env: dict[str, str]) -> Path:
    """Make keys and config as §6.4 says; the host key's path."""
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    owner = work_dir.stat()
    ssh_dir = work_dir / ".ssh"
    authorized = ssh_dir / "authorized_keys"
    _private_dir(ssh_dir, owner)
    if not authorized.is_file():
        await _user_key(dropbear, key_dir, authorized, work_dir / "id_container", owner)
    else:
        _private_file(authorized, owner)
    agent_host_key = config_dir / "ssh" / "dropbear_rsa_host_key"
    host_key = agent_host_key if agent_host_key.is_file() else key_dir / "dropbear_rsa_host_key"
    if not host_key.is_file():
        await _run(*dropbear.keygen, "-t", "rsa", "-s", "2048", "-f", str(host_key))
    _cluster(config_dir / "ssh", ssh_dir, authorized, env, owner)
    return host_key


async def _user_key(dropbear: Dropbear, key_dir: Path, authorized: Path, download: Path,
                    owner: os.stat_result) -> None:
    private = key_dir / "id_dropbear"
    private.unlink(missing_ok=True)
    out = await _run(*dropbear.keygen, "-t", "rsa", "-s", "2048", "-f", str(private))
    lines = out.splitlines()
    public = next((line for line in lines if line.startswith("ssh-")), None)
    if public is None:
        raise LaunchRefused(f"dropbearkey printed no public key: {out[:200]!r}")
    authorized.write_text(public + "\n")
    _private_file(authorized, owner)
    await _run(*dropbear.convert, "dropbear", "openssh", str(private), str(download))
    _private_file(download, owner)


def _cluster(cluster_dir: Path, ssh_dir: Path, authorized: Path, env: dict[str, str],
             owner: os.stat_result) -> None:
    """Multi-node sessions: hosts of the cluster in ~/.ssh/config, its key authorized."""
    key = cluster_dir / "id_cluster"
    if not key.is_file():
        return
    config = ssh_dir / "config"
    text = config.read_text() if config.is_file() else ""
    if CLUSTER_MARK not in text:
        config.write_text(text + _cluster_blocks(cluster_dir, key, env))
        _private_file(config, owner)
    public = cluster_dir / "id_cluster.pub"
    if public.is_file():
        line = public.read_text().strip()
        keys = authorized.read_text() if authorized.is_file() else ""
        if line and line not in keys:
            authorized.write_text(keys + ("" if keys.endswith("\n") or not keys else "\n")
                                  + line + "\n")
            _private_file(authorized, owner)


def _cluster_blocks(cluster_dir: Path, key: Path, env: dict[str, str]) -> str:
    mapping_file = cluster_dir / "port-mapping.json"
    hosts: list[tuple[str, str | None, int]] = []
    if mapping_file.is_file():
        mapping = json.loads(mapping_file.read_text())
        hosts = [(h, str(addr[0]), int(addr[1])) for h, addr in mapping.items()]
    else:
        replicas = env.get("BACKENDAI_CLUSTER_REPLICAS", "")
        roles = [part.split(":", 1)[0] for part in replicas.split(",") if part.strip()]
        hosts = [(f"{role}*", None, 2200) for role in roles]
    blocks = [f"\n{CLUSTER_MARK}\n"]
    for host, address, port in hosts:
        blocks.append(f"Host {host}\n" + (f"\tHostName {address}\n" if address else "")
                      + f"\tPort {port}\n\tStrictHostKeyChecking no\n\tIdentityFile {key}\n")
    return "".join(blocks)


def command(dropbear: Dropbear, host_key: Path, ports: list[int]) -> list[str]:
    """Foreground, log to stderr, no root password or root login, 15 s keepalive, no idle limit."""
    listen = [a for p in ports for a in ("-p", f"0.0.0.0:{p}")]
    return [*dropbear.server, "-r", str(host_key), "-E", "-F", "-g", "-w", "-K", "15",
            "-I", "0", *listen]


def _private_dir(path: Path, owner: os.stat_result) -> None:
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    _own(path, owner)


def _private_file(path: Path, owner: os.stat_result) -> None:
    os.chmod(path, 0o600)
    _own(path, owner)


def _own(path: Path, owner: os.stat_result) -> None:
    """As root, hand the file to the work folder's owner (the user who logs in)."""
    if os.geteuid() == 0 and (owner.st_uid, owner.st_gid) != (0, 0):
        os.chown(path, owner.st_uid, owner.st_gid)


async def _run(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), KEYGEN_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise LaunchRefused(f"{argv[0]} took longer than {KEYGEN_TIMEOUT:g} s") from None
    if proc.returncode != 0:
        raise LaunchRefused(f"{' '.join(argv[:2])} failed: {err.decode(errors='replace')}")
    return out.decode(errors="replace")
