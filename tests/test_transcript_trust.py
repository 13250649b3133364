"""What vouches for a transcript beyond its hash chain (the fingerprint the runner keeps out
of the user's reach, the operator's key), and transcripts, verify and replay that say
plainly when what they read is not the whole session."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from runner.durable_log import export_at_exit
from tests.stories import flapping_model, write_log
from tests.tooling import tool
from tools.launch import start_runner
from transcripts import synthetic
from transcripts.events import Event
from transcripts.location import LogPlace
from transcripts.store import EventLog


def _rechained(lines: list[str]) -> list[str]:
    """What a forger does: recompute every line's hash (the chain has no key)."""
    prev, out = b"", []
    for line in lines:
        body = line.rstrip("\n").encode()[:-len(',"h":"') - 32 - len('"}')]
        prev = hashlib.blake2b(prev + body, digest_size=16).hexdigest().encode()
        out.append((body + b',"h":"' + prev + b'"}\n').decode())
    return out


def _forged(path: Path, old: str, new: str) -> Path:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = [line.replace(old, new) for line in lines]
    assert edited != lines
    forged = path.with_name("forged.jsonl")
    forged.write_text("".join(_rechained(edited)), encoding="utf-8")
    return forged


def _unsigned(path: Path) -> Path:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[-1] = re.sub(r',"sig":\{[^}]*\}', "", lines[-1])
    stripped = path.with_name("stripped.jsonl")
    stripped.write_text("".join(_rechained(lines)), encoding="utf-8")
    return stripped


def test_a_forger_who_recomputes_the_chain_is_caught_by_the_kept_fingerprint_and_the_key(
        tmp_path: Path) -> None:
    durable, key = tmp_path / "operator-logs", tmp_path / "operator" / "transcript.key"
    key.parent.mkdir()
    key.write_bytes(os.urandom(32))
    runner = start_runner(tmp_path, "python", log=False, env={
        "KRUNNER_LOG_DIR": str(durable), "BACKENDAI_KERNEL_ID": "k1",
        "KRUNNER_TRANSCRIPT_KEY_FILE": str(key)})
    runner.client().query("print('the real output')")
    assert runner.stop() == 0
    [transcript] = durable.glob("k1.*.jsonl")
    log = durable / "k1.sqlite3"
    printed = re.findall(r"fingerprint ([0-9a-f]{32})", runner.stderr_text())
    kept = sqlite3.connect(log).execute("SELECT fingerprint FROM sessions").fetchone()[0]
    assert printed == [kept], runner.stderr_text()
    for check in ([], ["--fingerprint", kept], ["--log", str(log)], ["--key-file", str(key)]):
        done = tool("tools.transcript", "verify", str(transcript), *check)
        assert done.returncode == 0, (check, done.stdout, done.stderr)
        assert "intact" in done.stdout and "partial" not in done.stdout

    forged = _forged(transcript, "the real output", "something else")
    assert tool("tools.transcript", "verify", str(forged)).returncode == 0  # the chain alone
    for check in (["--fingerprint", kept], ["--log", str(log)]):
        done = tool("tools.transcript", "verify", str(forged), *check)
        assert done.returncode == 1 and "not the file exported" in done.stderr, done.stderr
    signed = tool("tools.transcript", "verify", str(forged), "--key-file", str(key))
    assert signed.returncode == 1 and "signature does not match" in signed.stderr
    stripped = tool("tools.transcript", "verify", str(_unsigned(forged)), "--key-file", str(key))
    assert stripped.returncode == 1 and "not signed" in stripped.stderr
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    wrong = tool("tools.transcript", "verify", str(transcript), "--key-file", str(other))
    assert wrong.returncode == 1 and "another key" in wrong.stderr


def test_verify_against_a_log_that_kept_no_fingerprint_says_it_cannot(tmp_path: Path) -> None:
    log, out = tmp_path / "events.sqlite3", tmp_path / "s.jsonl"
    write_log(log, flapping_model())
    assert tool("tools.transcript", "export", "--log", str(log), "--out", str(out)
                ).returncode == 0
    done = tool("tools.transcript", "verify", str(out), "--log", str(log))
    assert done.returncode == 2 and "keeps no fingerprint" in done.stderr
    short = tmp_path / "short.key"
    short.write_bytes(b"secret")
    bad = tool("tools.transcript", "export", "--log", str(log), "--out", str(out),
               "--key-file", str(short))
    assert bad.returncode == 2 and "at least 16" in bad.stderr


def test_a_running_then_killed_session_is_exported_verified_and_replayed_as_partial(
        tmp_path: Path) -> None:
    runner = start_runner(tmp_path, "python")
    runner.client().query("print(1)")
    out = tmp_path / "running.jsonl"
    exported = tool("tools.transcript", "export", "--log", str(runner.log_path), "--out",
                    str(out))
    assert exported.returncode == 3, exported.stderr
    assert "PARTIAL" in exported.stderr and "is still running" in exported.stderr
    verified = tool("tools.transcript", "verify", str(out))
    assert verified.returncode == 3
    assert "intact, partial: the session never ended" in verified.stdout
    replayed = tool("tools.replay", "offline", "--transcript", str(out))
    assert replayed.returncode == 3 and "PARTIAL" in replayed.stdout, replayed.stdout

    os.kill(runner.proc.pid, signal.SIGKILL)
    runner.proc.wait()
    killed = tool("tools.transcript", "export", "--log", str(runner.log_path), "--out",
                  str(out))
    assert killed.returncode == 3 and "was killed" in killed.stderr, killed.stderr
    on_log = tool("tools.replay", "offline", "--log", str(runner.log_path))
    assert on_log.returncode == 3 and "was killed" in on_log.stdout
    as_json = tool("tools.replay", "offline", "--log", str(runner.log_path), "--format", "json")
    assert json.loads(as_json.stdout)["partial"]


def test_pruned_events_and_writer_gaps_make_a_session_partial(tmp_path: Path) -> None:
    log, out = tmp_path / "events.sqlite3", tmp_path / "s.jsonl"
    story = flapping_model()
    writer = EventLog(log)
    writer.open_session(kernel_id="k", language="python")
    for n, _ in enumerate(synthetic.record_timed(writer, story)):
        if n == 20:
            writer.record_gap("the disk was full", 7)  # as the writer does when it sheds
    writer.close()
    exported = tool("tools.transcript", "export", "--log", str(log), "--out", str(out))
    assert exported.returncode == 3 and "1 gap(s)" in exported.stderr, exported.stderr
    assert "7 events lost" in exported.stderr and "the disk was full" in exported.stderr
    replayed = tool("tools.replay", "offline", "--log", str(log))
    assert replayed.returncode == 3 and "1 gap(s)" in replayed.stdout, replayed.stdout
    verified = tool("tools.transcript", "verify", str(out))
    assert verified.returncode == 3 and "intact, partial: its writer recorded 1 gap(s)" in \
        verified.stdout

    pruned_log = tmp_path / "pruned.sqlite3"
    write_log(pruned_log, flapping_model())
    assert tool("tools.transcript", "prune", "--log", str(pruned_log), "--before",
                str(1_700_000_010)).returncode == 0
    replayed = tool("tools.replay", "offline", "--log", str(pruned_log))
    assert replayed.returncode == 1, replayed.stdout  # its machines began before the cut
    assert "retention pruned 12 of its events" in replayed.stdout
    assert "may explain the divergence" in replayed.stdout
    assert tool("tools.transcript", "export", "--log", str(pruned_log), "--out", str(out)
                ).returncode == 3
    verified = tool("tools.transcript", "verify", str(out))
    assert verified.returncode == 3 and "retention pruned" in verified.stdout


def _closed_log(tmp_path: Path, events: int) -> tuple[LogPlace, str]:
    place = LogPlace(tmp_path / "logs" / "k1.sqlite3", "test", durable=True)
    log = EventLog(place.path)
    session = log.open_session(kernel_id="k1", language="python")
    for n in range(events):
        log.append(Event("run:1", "output", "stdout", b"line %d\n" % n))
    log.close()
    return place, session


def test_the_export_at_exit_is_complete_within_its_deadline_and_kept_in_the_row(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    place, session = _closed_log(tmp_path, 50)
    written = export_at_exit(place, session, deadline=time.monotonic() + 30)
    assert written == place.transcript_path(session) and written.is_file()
    assert not list(place.path.parent.glob("*.partial"))
    printed = re.findall(r"fingerprint ([0-9a-f]{32})", capsys.readouterr().err)
    row = sqlite3.connect(place.path).execute("SELECT fingerprint FROM sessions").fetchone()
    assert printed == [row[0]]
    assert tool("tools.transcript", "verify", str(written), "--log", str(place.path)
                ).returncode == 0
    wal = place.path.with_name(place.path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # still checkpointed


def test_an_export_at_exit_past_its_deadline_is_left_partial_cleanly(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    place, session = _closed_log(tmp_path, 3000)
    written = export_at_exit(place, session, deadline=time.monotonic() - 1)
    assert written is not None and written.name.endswith(".jsonl.partial")
    assert not place.transcript_path(session).exists()
    assert "stopped at its deadline" in capsys.readouterr().err
    verified = tool("tools.transcript", "verify", str(written), "--log", str(place.path))
    assert verified.returncode == 3, verified.stderr
    assert "export stopped at its deadline after 0 of 3000 events" in verified.stdout
    imported = tmp_path / "case.sqlite3"
    done = tool("tools.transcript", "import", str(written), "--log", str(imported))
    assert done.returncode == 3 and "PARTIAL" in done.stderr, done.stderr
    replayed = tool("tools.replay", "offline", "--log", str(imported))  # it stays said
    assert replayed.returncode == 3, replayed.stdout
    assert "imported from a partial transcript: the export stopped at its deadline" in \
        replayed.stdout


NEEDS_NAMESPACES = pytest.mark.skipif(
    os.environ.get("CI") != "true" and (os.geteuid() != 0 or not shutil.which("unshare")
                                        or not shutil.which("nsenter")),
    reason="needs root, unshare(1) and nsenter(1) for a private tmpfs")


@NEEDS_NAMESPACES
def test_a_log_full_at_exit_is_replayed_and_exported_as_partial(tmp_path: Path) -> None:
    logfs, kept = tmp_path / "logfs", tmp_path / "kept"
    logfs.mkdir()
    kept.mkdir()
    # the tmpfs lives in the runner's own mount namespace: the shell keeps the log once the
    # runner has exited, still on a full disk
    script = ('mount -t tmpfs -o size=16m tmpfs "$0" || exit 1; "$@" & child=$!; '
              'trap "kill -TERM $child" TERM; wait $child; wait $child; '
              f'cp "$0"/events.sqlite3* {kept}/')
    runner = start_runner(tmp_path, "python", "--log", str(logfs / "events.sqlite3"),
                          prefix=("unshare", "-m", "sh", "-c", script, str(logfs)))
    try:
        client = runner.client()
        assert client.query("print('before')").stdout == "before\n"
        subprocess.run(["nsenter", "-t", str(runner.proc.pid), "-m", "sh", "-c",
                        f"dd if=/dev/zero of={logfs}/filler bs=64k"], capture_output=True,
                       check=False)
        assert client.batch(exec="head -c 3000000 /dev/urandom | base64").exec_exit == 0
        assert client.query("print('while full')").stdout == "while full\n"
        deadline = time.monotonic() + 90
        while "EVENT LOG RECORDING DEGRADED" not in runner.stderr_text():
            assert time.monotonic() < deadline, runner.stderr_text()
            time.sleep(0.1)
    finally:
        runner.stop()
    log = kept / "events.sqlite3"
    assert log.is_file(), runner.stderr_text()
    replayed = tool("tools.replay", "offline", "--log", str(log))
    assert replayed.returncode in (1, 3) and "PARTIAL" in replayed.stdout, replayed.stdout
    assert "gap(s)" in replayed.stdout or "never ended" in replayed.stdout
    out = tmp_path / "s.jsonl"
    exported = tool("tools.transcript", "export", "--log", str(log), "--out", str(out))
    assert exported.returncode == 3 and "PARTIAL" in exported.stderr, exported.stderr
    assert tool("tools.transcript", "verify", str(out)).returncode == 3


def test_a_key_file_that_cannot_serve_is_said_at_start_and_the_transcript_still_kept(
        tmp_path: Path) -> None:
    durable = tmp_path / "operator-logs"
    runner = start_runner(tmp_path, "python", log=False, env={
        "KRUNNER_LOG_DIR": str(durable), "BACKENDAI_KERNEL_ID": "k2",
        "KRUNNER_TRANSCRIPT_KEY_FILE": str(tmp_path / "absent.key")})
    assert "started_at" in runner.client().status()
    assert "transcripts will not be signed: cannot read the transcript key file" in \
        runner.stderr_text()  # at start, before anything depends on it
    assert runner.stop() == 0
    [transcript] = durable.glob("k2.*.jsonl")
    assert '"sig"' not in transcript.read_text().splitlines()[-1]
    assert tool("tools.transcript", "verify", str(transcript), "--log",
                str(durable / "k2.sqlite3")).returncode == 0


def test_a_log_older_than_retention_and_fingerprints_still_reads(tmp_path: Path) -> None:
    log, out = tmp_path / "old.sqlite3", tmp_path / "s.jsonl"
    write_log(log, flapping_model())
    db = sqlite3.connect(log)
    db.executescript("DROP TABLE pruned; ALTER TABLE sessions DROP COLUMN fingerprint;")
    db.close()
    assert tool("tools.replay", "offline", "--log", str(log)).returncode == 0
    assert tool("tools.transcript", "export", "--log", str(log), "--out", str(out)
                ).returncode == 0
    said = tool("tools.transcript", "verify", str(out), "--log", str(log))
    assert said.returncode == 2 and "keeps no fingerprint" in said.stderr
