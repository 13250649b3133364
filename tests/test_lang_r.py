"""R: Rscript for batch, IRkernel for queries (state kept, completion, input, plain text)."""

from __future__ import annotations

from tests.conftest import RunnerProcess
from tests.lang_contract import Case, LanguageContract

# readline() asks the agent in IRkernel; Rscript's readline() never waits, stdin is read
ASK = ('ask <- function(p) if (isTRUE(getOption("jupyter.in_kernel"))) readline(p) else {\n'
       '  cat(p); readLines(file("stdin"), n = 1) }\n')

R = Case(
    lang="r", commands=("R", "Rscript"), main="main.R",
    hello='cat("hello from R\\n")\n', hello_out="hello from R\n",
    failing='cat("before\\n")\nstop("broken on purpose")\ncat("after\\n")\n', failing_exit=1,
    failing_says="broken on purpose",
    loop='cat("looping\\n")\nrepeat Sys.sleep(1)\n',
    kernel=True,
    echo=ASK + 'for (i in 0:1) {\n  l <- ask(sprintf("line %d? ", i))\n'
               '  cat(paste0("got ", l, "\\n"))\n}\n',
    once=ASK + 'name <- ask("Name? ")\ncat(paste0("hello ", name, "\\n"))\nquit(status = 3)\n',
    once_query=ASK + 'name <- ask("Name? ")\ncat(paste0("hello ", name, "\\n"))\n',
    once_query_exit=0,  # quit() would end the kernel, not the cell
)


class TestR(LanguageContract):
    case = R

    def test_state_lives_on_between_queries_and_completion_is_real(
            self, runner: RunnerProcess) -> None:
        client = runner.client()
        assert client.query("my_answer_value <- 42").exit_code == 0
        assert client.query("cat(my_answer_value)").stdout == "42"
        assert "my_answer_value" in client.complete("my_answer_v")

    def test_an_error_in_a_query_is_a_non_zero_exit_and_results_are_plain_text(
            self, runner: RunnerProcess) -> None:
        client = runner.client()
        failed = client.query('stop("broken on purpose")')
        assert failed.exit_code == 1
        result = client.query("data.frame(x = 1:2, y = c('a', 'b'))")
        assert result.exit_code == 0
        assert result.html == [] and result.media == []
        assert "x y" in result.stdout
