"""C and C++ on the real gcc/g++: the language contract, plus what only C and C++ do
(`main` built in the work folder, a query compiled outside it, C compiled as C by g++)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tests.conftest import RunnerProcess
from tests.lang_contract import Case, CompiledContract
from tests.lang_support import module_folder, need, start, write

__all__ = ["module_folder"]

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

C = Case(lang="c", commands=("gcc", "make"), main="main.c",
         hello='#include <stdio.h>\nint main(void) { printf("hello from C\\n"); return 0; }\n',
         hello_out="hello from C\n", failing=EXIT_3, failing_exit=3, failing_says="bad",
         loop=LOOP, echo=ECHO, once=ONCE, compile_error=BROKEN, error_says="undefined_name")
# the same programs are C++ too, except hello
CPP = replace(C, lang="cpp", commands=("g++", "make"), main="main.cpp",
              hello='#include <iostream>\n'
                    'int main() { std::cout << "hello from C++" << std::endl; }\n',
              hello_out="hello from C++\n")


class CFamily(CompiledContract):
    """The contract, and what only C and C++ do."""

    def test_the_build_leaves_main_in_the_work_folder(self, runner: RunnerProcess) -> None:
        write(runner.work_dir, {self.case.main: self.case.hello})
        assert runner.client().batch(build="*").build_exit == 0
        assert (runner.work_dir / "main").is_file()

    def test_a_query_is_compiled_and_run_outside_the_users_folder(self, runner: RunnerProcess
                                                                  ) -> None:
        write(runner.work_dir, {})
        result = runner.client().query(self.case.hello)
        assert (result.exit_code, result.stdout) == (0, self.case.hello_out), result.stderr
        assert list(runner.work_dir.iterdir()) == []  # the original left main and temp files
        broken = runner.client().query(BROKEN)
        assert broken.exit_code not in (0, None)
        assert "undefined_name" in broken.stderr

    def test_getpass_turns_echo_off_so_the_answer_is_a_secret(self, runner: RunnerProcess
                                                              ) -> None:
        """glibc's getpass() without /dev/tty turns off the echo of stdin: the answer is a
        secret whatever the prompt says (the agent is told `is_password`)."""
        write(runner.work_dir, {self.case.main: GETPASS})
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


class TestC(CFamily):
    case = C


class TestCpp(CFamily):
    case = CPP


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
