"""MIT/GNU Scheme: the contract; an error ends the program (the original stayed in its REPL)."""

from __future__ import annotations

from tests.conftest import RunnerProcess
from tests.lang_contract import Case, LanguageContract
from tests.lang_support import write

SCHEME = Case(
    lang="scheme", commands=("mit-scheme",), main="main.scm",
    hello='(display "hello from Scheme")\n(newline)\n', hello_out="hello from Scheme\n",
    failing='(display "before")\n(newline)\n(car 5)\n(display "after")\n', failing_exit=1,
    failing_says="not the correct type",
    loop='(display "looping")\n(newline)\n(let loop () (loop))\n',
    echo='(do ((i 0 (+ i 1))) ((= i 2))\n  (display "line ") (display i) (display "? ")\n'
         '  (let ((l (read-line)))\n    (display "got ") (display l) (newline)))\n',
    once='(display "Name? ")\n(let ((name (read-line)))\n'
         '  (display "hello ") (display name) (newline))\n(exit 3)\n',
)


class TestScheme(LanguageContract):
    case = SCHEME

    def test_an_error_ends_the_run_without_waiting_for_input(self, runner: RunnerProcess
                                                            ) -> None:
        write(runner.work_dir, {"main.scm": SCHEME.failing})
        result = runner.client().batch(exec="*", timeout=60)
        assert result.exec_exit == 1
        assert result.waiting_inputs == []
        assert "after" not in result.exec.stdout and "2 error>" not in result.exec.stdout
