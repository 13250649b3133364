"""The drawing API (PROTOCOL §10.1) from user code, in query mode and in batch mode: the agent
receives `media` of type `application/x-sorna-drawing` holding the canvas's commands.

The runtime is the reproduced image's Python (ipykernel, nothing of krunner): the runner puts
the drawing package on its path, and only that."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import msgpack
import pytest

from tools import container
from tools.launch import RunnerProcess, start_runner

# the first use builds the image's Python (tools/container.py): longer than a test's usual limit
pytestmark = pytest.mark.timeout(900)

DRAWING = """\
from ai.backend.kernel.python.drawing import Canvas, Colors, Turtle
canvas = Canvas(200, 100, bgcolor=Colors.Black)
turtle = Turtle(canvas)
turtle.forward(50)
turtle.right(90)
turtle.forward(20)
canvas.circle(10, 10, 5, fill=Colors.Blue)
print("before")
canvas.update()
print("after", turtle.pos())
"""
LEAKS = """
import importlib.util, ai.backend.kernel.python.drawing as d
print("from", d.__file__)
print("internals", [m for m in ("runner", "machines", "transcripts", "transitions")
                    if importlib.util.find_spec(m) is not None])
"""


@pytest.fixture(scope="module")
def image_python() -> str:
    return str(container.image_python())


@pytest.fixture
def runner(tmp_path: Path, image_python: str) -> RunnerProcess:
    # no PYTHONPATH of the harness: the runner imports itself from the installed project, and
    # whatever its children see of krunner is what the runner put there
    r = start_runner(tmp_path, "python", runtime=image_python, env={"PYTHONPATH": ""})
    yield r
    r.stop()


def commands(media: list[dict[str, str]]) -> list[list[object]]:
    [record] = media
    assert record["type"] == "application/x-sorna-drawing"
    return msgpack.unpackb(base64.b64decode(record["data"]), raw=False)


def check_drawing(drawn: list[list[object]]) -> None:
    """A canvas of 200x100, the turtle's cursor at the centre, two strokes, a circle."""
    canvas_id = drawn[0][0]
    assert drawn[0] == [canvas_id, "canvas", 200, 100, "#000000ff", "#000000ff"]
    assert drawn[1] == [canvas_id, "obj", 0, ["triangle", 100.0, 50.0, 12, 18, "#ff0000ff",
                                              "#ffc8c8ff", 90]]
    lines = [c[3] for c in drawn if c[1] == "obj" and c[3][0] == "line"]
    assert [[round(v, 6) if isinstance(v, float) else v for v in line] for line in lines] == [
        ["line", 100.0, 50.0, 150.0, 50.0, "#ff000080"],
        ["line", 150.0, 50.0, 150.0, 70.0, "#ff000080"]]
    assert [c[1] for c in drawn].count("begin-group") == 2
    assert drawn[-1] == [canvas_id, "obj", 3, ["circle", 10, 10, 5, "#000000ff", "#0000ffff", 0]]


def test_a_cell_that_draws_sends_media_between_its_prints(runner: RunnerProcess) -> None:
    result = runner.client().query(DRAWING + LEAKS)
    assert result.exit_code == 0, result.stderr
    check_drawing(commands(result.media))
    kinds = [kind for kind, _ in result.console]
    assert kinds.index("media") > kinds.index("stdout")  # "before" came first
    assert "after (50.00,20.00)\n" in result.stdout
    assert f"from {runner.home / 'state' / 'pylib'}" in result.stdout
    assert "internals []" in result.stdout


def test_a_batch_program_that_draws_sends_media(runner: RunnerProcess,
                                                image_python: str) -> None:
    (runner.work_dir / "main.py").write_text(DRAWING + LEAKS)
    result = runner.client().batch(exec=f"{image_python} main.py")
    assert result.exec_exit == 0, result.stderr
    check_drawing(commands(result.exec.media))
    assert "before\n" in result.stdout and "after (50.00,20.00)\n" in result.stdout
    assert "internals []" in result.stdout


def test_a_bad_media_record_gets_a_reason_and_nothing_is_sent(runner: RunnerProcess,
                                                              image_python: str) -> None:
    (runner.work_dir / "main.py").write_text(
        "import os, socket\n"
        "for line in (b'not json\\n', b'{\"type\": 1}\\n'):\n"
        "    s = socket.socket(socket.AF_UNIX)\n"
        "    s.connect(os.environ['KRUNNER_MEDIA_SOCKET'])\n"
        "    s.sendall(line)\n"
        "    print(s.recv(1000).decode().strip())\n")
    result = runner.client().batch(exec=f"{image_python} main.py")
    assert result.stdout.splitlines() == [
        "error: not a JSON line", 'error: expected {"type": str, "data": str}']
    assert result.exec.media == []


def test_outside_a_runner_a_drawing_says_it_is_not_shown(tmp_path: Path,
                                                        image_python: str) -> None:
    from runner.python_extras import install_user_library
    library = install_user_library(tmp_path / "pylib")
    done = subprocess.run([image_python, "-c", DRAWING], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": str(library), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0
    assert "drawing: not started by a kernel runner; nothing is shown" in done.stderr
    assert "after (50.00,20.00)" in done.stdout
