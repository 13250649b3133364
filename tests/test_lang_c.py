"""C and C++ on the real gcc/g++: batch `*`, queries, errors, interrupt and input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunnerProcess
from tests.lang_support import (
    asked_once_then_finished,
    interrupt_ends_everything,
    module_folder,
    need,
    start,
    until_input,
    write,
)

__all__ = ["module_folder"]

HELLO = {"c": '#include <stdio.h>\nint main(void) { printf("hello from C\\n"); return 0; }\n',
         "cpp": '#include <iostream>\nint main() { std::cout << "hello from C++" << std::endl; }\n'}
BROKEN = "int main(void) { return undefined_name; }\n"
EXIT_3 = '#include <stdio.h>\nint main(void) { puts("bad"); return 3; }\n'
LOOP = ('#include <stdio.h>\n#include <unistd.h>\n'
        'int main(void) { puts("looping"); fflush(stdout); for (;;) pause(); }\n')
ECHO = ('#include <stdio.h>\nint main(void) { char line[256];\n'
        '  for (int i = 0; i < 2; i++) { printf("line %d? ", i);\n'
        '    if (!fgets(line, sizeof line, stdin)) return 9; printf("got %s", line); }\n'
        '  return 0; }\n')
ONCE = ('#include <stdio.h>\nint main(void) { char name[64]; printf("Name? "); fflush(stdout);\n'
        '  if (!fgets(name, sizeof name, stdin)) return 9; printf("hello %s", name); return 3; }\n')
GETPASS = ('#include <stdio.h>\n#include <string.h>\n#include <unistd.h>\n'
           'int main(void) { char *p = getpass("Answer: ");\n'
           '  printf("length %zu\\n", strlen(p)); return 0; }\n')
SUFFIX = {"c": "c", "cpp": "cpp"}
COMPILER = {"c": "gcc", "cpp": "g++"}


@pytest.fixture(scope="module", params=["c", "cpp"])
def lang_runner(request: pytest.FixtureRequest, module_folder: Path
                ) -> Iterator[tuple[str, RunnerProcess]]:
    lang = request.param
    need(COMPILER[lang], "make")
    runner = start(module_folder, lang)
    yield lang, runner
    runner.stop()


def main_file(lang: str) -> str:
    return f"main.{SUFFIX[lang]}"


def test_hello_world_through_star_build_and_exec(lang_runner: tuple[str, RunnerProcess]
                                                 ) -> None:
    lang, runner = lang_runner
    write(runner.work_dir, {main_file(lang): HELLO[lang]})
    result = runner.client().batch(clean="*", build="*", exec="*")
    assert (result.clean_exit, result.build_exit, result.exec_exit) == (0, 0, 0)
    assert f"hello from {'C' if lang == 'c' else 'C++'}\n" == result.exec.stdout
    assert (runner.work_dir / "main").is_file()


def test_a_compile_error_fails_the_build_and_skips_exec(lang_runner: tuple[str, RunnerProcess]
                                                        ) -> None:
    lang, runner = lang_runner
    write(runner.work_dir, {main_file(lang): BROKEN})
    result = runner.client().batch(build="*", exec="*")
    assert result.build_exit not in (0, None)
    assert "undefined_name" in result.build.stderr
    assert result.exec_exit == 127


def test_a_runtime_error_gives_the_programs_exit_code(lang_runner: tuple[str, RunnerProcess]
                                                      ) -> None:
    lang, runner = lang_runner
    write(runner.work_dir, {main_file(lang): EXIT_3})
    result = runner.client().batch(build="*", exec="*")
    assert (result.build_exit, result.exec_exit) == (0, 3), result.exec.stderr
    assert result.exec.stdout == "bad\n"


def test_a_query_is_compiled_and_run_outside_the_users_folder(
        lang_runner: tuple[str, RunnerProcess]) -> None:
    lang, runner = lang_runner
    write(runner.work_dir, {})
    result = runner.client().query(HELLO[lang])
    assert result.exit_code == 0
    assert "hello from" in result.stdout
    assert list(runner.work_dir.iterdir()) == []  # the original left main and temp files here
    broken = runner.client().query(BROKEN)
    assert broken.exit_code not in (0, None)
    assert "undefined_name" in broken.stderr


def test_an_endless_program_is_interrupted_with_nothing_left(
        lang_runner: tuple[str, RunnerProcess]) -> None:
    lang, runner = lang_runner
    write(runner.work_dir, {main_file(lang): LOOP})
    assert runner.client().batch(build="*").build_exit == 0
    assert interrupt_ends_everything(runner, "exec", "*") != 0
    assert interrupt_ends_everything(runner, "code", LOOP) != 0


@pytest.mark.parametrize("mode", ["batch", "query"])
def test_input_echo(lang_runner: tuple[str, RunnerProcess], mode: str) -> None:
    lang, runner = lang_runner
    write(runner.work_dir, {main_file(lang): ECHO})
    client = runner.client()
    if mode == "batch":
        assert client.batch(build="*").build_exit == 0
        client.send("exec", "*")
    else:
        client.send("code", ECHO)
    first = until_input(client)
    assert first.endswith("line 0? ")
    client.send("input", "alpha")
    result = client.collect("finished", inputs=["beta"])
    assert result.exit_code == 0
    assert "got alpha\nline 1? got beta\n" in result.stdout


@pytest.mark.parametrize("mode", ["batch", "query"])
def test_a_program_that_stops_reading_ends_as_in_a_terminal(
        lang_runner: tuple[str, RunnerProcess], mode: str) -> None:
    lang, runner = lang_runner
    write(runner.work_dir, {main_file(lang): ONCE})
    client = runner.client()
    if mode == "batch":
        assert client.batch(build="*").build_exit == 0
        client.send("exec", "*")
    else:
        client.send("code", ONCE)
    stdout, exit_code = asked_once_then_finished(client, "Name? ", "Ada")
    assert (exit_code, stdout) == (3, "Name? hello Ada\n")


def test_getpass_turns_echo_off_so_the_answer_is_a_secret(
        lang_runner: tuple[str, RunnerProcess]) -> None:
    """glibc's getpass() without /dev/tty turns off the echo of stdin: the answer is a secret
    whatever the prompt says (the agent is told `is_password`)."""
    lang, runner = lang_runner
    write(runner.work_dir, {main_file(lang): GETPASS})
    client = runner.client()
    assert client.batch(build="*").build_exit == 0
    client.send("exec", "*")
    assert json.loads(client.wait_for("waiting-input", timeout=120)) == {"is_password": True}
    client.send("input", "staple")
    assert client.collect("finished").stdout == "length 6\n"
    client.send("code", GETPASS)
    assert json.loads(client.wait_for("waiting-input", timeout=120)) == {"is_password": True}
    client.send("input", "correct horse battery")
    assert client.collect("finished").stdout == "length 21\n"


def test_c_is_compiled_as_c_even_with_g_plus_plus_as_runtime(module_folder: Path) -> None:
    need("gcc", "g++")
    c_only = ('#include <stdio.h>\n#include <stdlib.h>\n'
              'int main(void) { int *p = malloc(sizeof *p); int class = 2; *p = class;\n'
              '  printf("%d\\n", *p); return 0; }\n')
    runner = start(module_folder, "c", runtime="/usr/bin/g++")
    try:
        write(runner.work_dir, {"main.c": c_only})
        result = runner.client().batch(build="*", exec="*")
        assert (result.build_exit, result.exec_exit) == (0, 0), result.build.stderr
        assert result.exec.stdout == "2\n"
    finally:
        runner.stop()
