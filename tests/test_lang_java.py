"""Java on the real JDK: the contract, plus the original's Java faults."""

from __future__ import annotations

from tests.conftest import RunnerProcess
from tests.lang_contract import Case, CompiledContract
from tests.lang_support import write

JAVA = Case(
    lang="java", commands=("java", "javac"), main="Main.java",
    hello='public class Main { public static void main(String[] a) {\n'
          '  System.out.println("hello from " + Greeting.NAME); } }\n',
    extra={"Greeting.java": 'class Greeting { static final String NAME = "Java"; }\n'},
    query='public class Hello { public static void main(String[] a) {\n'
          '  System.out.println("hello from Java"); } }\n',
    hello_out="hello from Java\n",
    failing='public class Main { public static void main(String[] a) {\n'
            '  throw new IllegalStateException("broken on purpose"); } }\n',
    failing_exit=1, failing_says="broken on purpose",
    compile_error="public class Main { int x = undefinedName; }\n",
    error_says="cannot find symbol",
    loop='public class Main { public static void main(String[] a) throws Exception {\n'
         '  System.out.println("looping"); while (true) Thread.sleep(1000); } }\n',
    echo='import java.util.Scanner;\n'
         'public class Main { public static void main(String[] a) {\n'
         '  Scanner in = new Scanner(System.in);\n'
         '  for (int i = 0; i < 2; i++) { System.out.print("line " + i + "? ");\n'
         '    System.out.println("got " + in.nextLine()); } } }\n',
    once='import java.util.Scanner;\n'
         'public class Main { public static void main(String[] a) {\n'
         '  Scanner in = new Scanner(System.in);\n  System.out.print("Name? ");\n'
         '  System.out.println("hello " + in.nextLine());\n  System.exit(3); } }\n',
)


class TestJava(CompiledContract):
    case = JAVA

    def test_a_query_answers_with_the_programs_exit_code_not_minus_one(
            self, runner: RunnerProcess) -> None:
        write(runner.work_dir, {})
        code = ('public class Exit { public static void main(String[] a) {\n'
                '  System.out.println("bye"); System.exit(4); } }\n')
        result = runner.client().query(code)
        assert (result.exit_code, result.stdout) == (4, "bye\n")

    def test_a_build_of_several_files_in_a_package_works_on_this_jdk(
            self, runner: RunnerProcess) -> None:
        write(runner.work_dir, {
            "main/Main.java": 'package main;\npublic class Main { public static void main('
                              'String[] a) { System.out.println(util.Twice.of(21)); } }\n',
            "util/Twice.java": 'package util;\npublic class Twice {\n'
                               '  public static int of(int x) { return 2 * x; } }\n'})
        result = runner.client().batch(build="*", exec="*")
        assert (result.build_exit, result.exec_exit) == (0, 0), result.build.stderr
        assert result.exec.stdout == "42\n"
