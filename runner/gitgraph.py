"""`%show graph PATH` of the git runtime: a repository's commits as the agent's gitgraph media.

As the original computes it (PROTOCOL §8): each commit's branch is the branch through which
`git log --branches --source` first reaches it; commits come from `git log --all`, oldest
first in topological order. Unlike the original this never changes the runner's working
folder, keys branches by full hash (abbreviations may be longer than 7), keeps messages that
contain `||`, gives a root commit no parents instead of one empty id, and answers a path it
cannot use (too long, a NUL, not a folder) with the reason and an exit code, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Any

MEDIA_TYPE = "application/vnd.sorna.gitgraph"
FIELD = "\x1f"
RECORD = "\x1e"
PATH_MAX, NAME_MAX = 4096, 255  # Linux: bytes of a whole path (with its NUL), of one name
SHOWN = 60  # characters of a bad path repeated in the message
BAD_PATH = 2  # exit code of a path that cannot name a folder at all (as bad usage)


class GitFailed(RuntimeError):
    """git could not answer; `exit_code` is what the query returns."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def repository_folder(base: Path, given: str) -> Path:
    """The folder `given` names (relative to `base`, `~` expanded), or GitFailed saying why."""
    if "\0" in given:
        raise GitFailed("the path contains a NUL character", BAD_PATH)
    path = base / os.path.expanduser(given)
    size = len(os.fsencode(path))
    if size >= PATH_MAX:
        raise GitFailed(f"the path is too long: {size} bytes, at most {PATH_MAX - 1} "
                        f"({shown(str(path))})", BAD_PATH)
    for name in path.parts:
        if len(os.fsencode(name)) > NAME_MAX:
            raise GitFailed(f"a name in the path is too long: {len(os.fsencode(name))} bytes, "
                            f"at most {NAME_MAX} ({shown(name)})", BAD_PATH)
    try:
        if path.is_dir():
            return path
    except OSError as e:
        raise GitFailed(f"cannot open {shown(str(path))}: {e.strerror}", 1) from e
    raise GitFailed(f"no such folder: {shown(str(path))}", 1)


def shown(text: str) -> str:
    """`text` short enough to repeat in a message."""
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text)} characters)"


class GitRunner:
    """Runs git in a repository, each call in its own process group so it can be stopped."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._running: set[asyncio.subprocess.Process] = set()

    async def run(self, repo: Path, *args: str) -> str:
        try:
            proc = await asyncio.create_subprocess_exec(
                "git", "-C", str(repo), *args, env=self._env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except FileNotFoundError as e:
            raise GitFailed("git is not installed: %show graph needs it", 127) from e
        self._running.add(proc)
        try:
            out, err = await proc.communicate()
        finally:
            self._running.discard(proc)
            self._kill(proc)  # whatever it started goes with it
        if proc.returncode != 0:
            raise GitFailed(err.decode("utf-8", "replace").strip() or "git failed",
                            proc.returncode or 1)
        return out.decode("utf-8", "replace")

    def stop(self) -> None:
        """Interrupt: end every git still running."""
        for proc in list(self._running):
            self._kill(proc)

    @staticmethod
    def _kill(proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


async def commit_graph(git: GitRunner, repo: Path) -> list[dict[str, Any]]:
    """Every commit of `repo` with its parents, author, subject and branches."""
    reached = await git.run(repo, "log", "--branches", "--source", "--format=%H %S")
    branch_of = dict(line.split(" ", 1) for line in reached.splitlines() if " " in line)
    listed = await git.run(repo, "log", "--all", "--topo-order", "--reverse",
                           f"--format=%H{FIELD}%h{FIELD}%P{FIELD}%p{FIELD}%an{FIELD}%s{RECORD}")
    graph = []
    for record in listed.split(RECORD):
        fields = record.strip("\n").split(FIELD)
        if len(fields) != 6:
            continue
        full, short, parents, short_parents, author, subject = fields
        graph.append({
            "oid": short,
            "parent_ids": short_parents.split(),
            "author": author,
            "message": subject,
            "branch": branch_of.get(full),
            "parent_branches": [branch_of.get(p) for p in parents.split()],
        })
    return graph
