"""Batch output is gathered into few messages when a program writes fast, loses nothing, and
is not held back when a program writes a little and waits."""

from __future__ import annotations

import hashlib
import time

from tests.conftest import RunnerProcess

WRITES, BLOCK = 2048, 8192  # 16 MiB in the 8 KiB writes of stdio and Python's print

# Paced a little, so the runner keeps up with it: each write would be a message of its own.
WRITER = f"""
import hashlib, os, time
digest = hashlib.sha256()
for n in range({WRITES}):
    block = n.to_bytes(4, "big") * ({BLOCK} // 4)
    digest.update(block)
    os.write(1, block)
    time.sleep(0.0002)
os.write(2, digest.hexdigest().encode())
"""


def test_a_fast_writer_arrives_whole_in_far_fewer_messages_than_writes(
        runner: RunnerProcess) -> None:
    (runner.work_dir / "writer.py").write_text(WRITER)
    result = runner.client().batch(exec="python3 writer.py")
    assert result.exec_exit == 0, result.stderr
    chunks = [data for kind, data in result.exec.console if kind == "stdout"]
    received = b"".join(chunks)
    assert len(received) == WRITES * BLOCK
    assert hashlib.sha256(received).hexdigest() == result.exec.stderr
    assert len(chunks) < WRITES * 3 // 4, f"{len(chunks)} messages for {WRITES} writes"


def test_a_little_output_before_a_pause_goes_out_at_once(runner: RunnerProcess) -> None:
    client = runner.client()
    client.send("clean", "")
    client.send("build", "")
    client.send("exec", "printf first; sleep 4; printf second")
    client.wait_for("build-finished")
    began = time.monotonic()
    assert client.wait_for("stdout", timeout=10) == b"first"
    assert time.monotonic() - began < 2.0  # long before the program's next write
    assert client.wait_for("stdout", timeout=10) == b"second"
    assert client.wait_for("finished", timeout=10) == b'{"exitCode": 0}'
