"""What every language must do, as the agent sees it; each tests/test_lang_<family>.py subclasses
`LanguageContract` with its programs (one runner per language, shared by its tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import RunnerProcess
from tests.lang_support import (
    asked_once_then_finished,
    interrupt_ends_everything,
    need,
    start,
    until_input,
    write,
)

ONCE_EXIT = 3


@dataclass(frozen=True)
class Case:
    """One language's programs. `main` is the file `*` looks for."""

    lang: str
    commands: tuple[str, ...]  # what must be installed
    main: str
    hello: str  # prints exactly `hello_out`
    hello_out: str
    failing: str  # fails at run time with `failing_exit`
    failing_exit: int
    failing_says: str
    loop: str  # prints a line, flushes, then never ends
    echo: str  # asks "line N? " twice, answers "got <line>" each time
    once: str  # asks "Name? " once the usual way, says "hello <line>", ends with ONCE_EXIT
    compile_error: str | None = None  # a program the build rejects, saying `error_says`
    error_says: str = ""
    query: str = ""  # defaults to `hello`
    extra: dict[str, str] = field(default_factory=dict)  # more files for the hello project
    timeout: float = 180.0
    kernel: bool = False  # queries run in a Jupyter kernel that outlives an interrupt
    once_query: str = ""  # `once` as a query, where it differs (a kernel must not exit)
    once_query_exit: int = 3  # what that query ends with


class LanguageContract:
    case: Case

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerProcess]:
        need(*cls.case.commands)
        runner = start(tmp_path_factory.mktemp(cls.case.lang), cls.case.lang)
        runner.client(timeout=cls.case.timeout)
        yield runner
        runner.stop()

    def test_hello_world_through_star_clean_build_exec(self, runner: RunnerProcess) -> None:
        write(runner.work_dir, {self.case.main: self.case.hello, **self.case.extra})
        result = runner.client().batch(clean="*", build="*", exec="*")
        assert (result.clean_exit, result.build_exit, result.exec_exit) == (0, 0, 0), \
            result.stderr
        assert result.exec.stdout == self.case.hello_out

    def test_a_runtime_error_gives_its_exit_code(self, runner: RunnerProcess) -> None:
        write(runner.work_dir, {self.case.main: self.case.failing})
        result = runner.client().batch(build="*", exec="*")
        assert result.build_exit == 0, result.build.stderr
        assert result.exec_exit == self.case.failing_exit, result.exec.stderr
        assert self.case.failing_says in result.exec.stderr + result.exec.stdout

    def test_a_query_runs_and_a_failing_one_says_why(self, runner: RunnerProcess) -> None:
        write(runner.work_dir, {})
        client = runner.client()
        result = client.query(self.case.query or self.case.hello)
        assert result.exit_code == 0, result.stderr
        assert self.case.hello_out.strip() in result.stdout
        failed = client.query(self.case.failing)
        assert failed.exit_code not in (0, None)
        assert self.case.failing_says in failed.stderr + failed.stdout

    def test_an_endless_program_is_interrupted_with_nothing_left(self, runner: RunnerProcess
                                                                 ) -> None:
        write(runner.work_dir, {self.case.main: self.case.loop})
        assert runner.client().batch(build="*").build_exit == 0
        assert interrupt_ends_everything(runner, "exec", "*") != 0
        assert interrupt_ends_everything(runner, "code", self.case.loop,
                                         kernel=self.case.kernel) != 0
        assert runner.client().query(self.case.query or self.case.hello).exit_code == 0

    @pytest.mark.parametrize("mode", ["batch", "query"])
    def test_input_reaches_the_program_line_by_line(self, runner: RunnerProcess, mode: str
                                                    ) -> None:
        write(runner.work_dir, {self.case.main: self.case.echo})
        client = runner.client()
        if mode == "batch":
            assert client.batch(build="*").build_exit == 0
            client.send("exec", "*")
        else:
            client.send("code", self.case.echo)
        seen = until_input(client)
        assert seen.endswith("line 0? ")
        client.send("input", "alpha")
        seen += until_input(client)
        assert seen.endswith("line 1? ")
        client.send("input", "beta")
        result = client.collect("finished")
        assert result.exit_code == 0, result.stderr
        # a kernel may hold output back until the cell ends (IRkernel does)
        assert "got alpha\n" in seen + result.stdout
        assert result.stdout.endswith("got beta\n")


    @pytest.mark.parametrize("mode", ["batch", "query"])
    def test_a_program_that_stops_reading_ends_as_in_a_terminal(self, runner: RunnerProcess,
                                                                mode: str) -> None:
        """Asked once, answered, it ends (stdin stays open): Node's readline + `rl.close()`
        never ended on a pipe, and the agent was asked again and again."""
        query = mode == "query"
        program = (self.case.once_query or self.case.once) if query else self.case.once
        write(runner.work_dir, {self.case.main: program})
        client = runner.client()
        if query:
            client.send("code", program)
        else:
            assert client.batch(build="*").build_exit == 0
            client.send("exec", "*")
        stdout, exit_code = asked_once_then_finished(client, "Name? ", "Ada")
        assert exit_code == (self.case.once_query_exit if query else ONCE_EXIT), stdout
        assert "hello Ada" in stdout


class CompiledContract(LanguageContract):
    """A language with a build step: its errors fail the build and the exec is skipped."""

    def test_a_compile_error_fails_the_build_and_skips_exec(self, runner: RunnerProcess
                                                            ) -> None:
        assert self.case.compile_error is not None
        write(runner.work_dir, {self.case.main: self.case.compile_error})
        result = runner.client().batch(build="*", exec="*")
        assert result.build_exit not in (0, None)
        assert self.case.error_says in result.build.stderr + result.build.stdout
        assert result.exec_exit == 127
