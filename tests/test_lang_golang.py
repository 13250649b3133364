"""Go on Debian's golang-go: the contract (the original's Go batch build always failed)."""

from __future__ import annotations

from tests.conftest import RunnerProcess
from tests.lang_contract import Case, CompiledContract
from tests.lang_support import write

GO = Case(
    lang="golang", commands=("go",), main="main.go",
    hello='package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from " + name) }\n',
    extra={"name.go": 'package main\n\nconst name = "Go"\n'},
    query='package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from Go") }\n',
    hello_out="hello from Go\n",
    failing='package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\n'
            'func main() { fmt.Fprintln(os.Stderr, "broken on purpose"); os.Exit(3) }\n',
    failing_exit=3, failing_says="broken on purpose",
    compile_error="package main\n\nfunc main() { x := undefinedName }\n",
    error_says="undefined: undefinedName",
    loop='package main\n\nimport (\n\t"fmt"\n\t"time"\n)\n\n'
         'func main() { fmt.Println("looping"); for { time.Sleep(time.Second) } }\n',
    echo='package main\n\nimport (\n\t"bufio"\n\t"fmt"\n\t"os"\n)\n\n'
         'func main() {\n\tr := bufio.NewReader(os.Stdin)\n\tfor i := 0; i < 2; i++ {\n'
         '\t\tfmt.Printf("line %d? ", i)\n\t\ts, _ := r.ReadString(\'\\n\')\n'
         '\t\tfmt.Printf("got %s", s)\n\t}\n}\n',
    once='package main\n\nimport (\n\t"bufio"\n\t"fmt"\n\t"os"\n)\n\n'
         'func main() {\n\tfmt.Print("Name? ")\n'
         '\tname, _ := bufio.NewReader(os.Stdin).ReadString(\'\\n\')\n'
         '\tfmt.Printf("hello %s", name)\n\tos.Exit(3)\n}\n',
    once_query_exit=1,  # `go run` says "exit status 3" and ends with 1
    timeout=300,
)


class TestGo(CompiledContract):
    case = GO

    def test_a_module_builds_with_go_build(self, runner: RunnerProcess) -> None:
        write(runner.work_dir, {"go.mod": "module hello\n\ngo 1.19\n",
                                "main.go": GO.query})
        result = runner.client().batch(build="*", exec="*")
        assert (result.build_exit, result.exec_exit) == (0, 0), result.build.stderr
        assert result.exec.stdout == "hello from Go\n"
