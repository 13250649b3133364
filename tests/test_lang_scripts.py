"""Node.js, Lua, PHP and Octave on their real interpreters: the contract, and the original's
faults (Node and Lua found where they are installed, PHP's second `<?php`, Octave's main.js)."""

from __future__ import annotations

from tests.conftest import RunnerProcess
from tests.lang_contract import Case, LanguageContract
from tests.lang_support import asked_once_then_finished, until_input, write

NODE = Case(
    lang="nodejs", commands=("node",), main="main.js",
    hello='console.log("hello from Node.js");\n', hello_out="hello from Node.js\n",
    failing='throw new Error("broken on purpose");\n', failing_exit=1,
    failing_says="broken on purpose",
    loop='console.log("looping");\nsetInterval(() => {}, 1000);\n',
    echo='const rl = require("readline").createInterface({ input: process.stdin });\n'
         'let i = 0;\nprocess.stdout.write("line 0? ");\n'
         'rl.on("line", (l) => { console.log("got " + l); i++;\n'
         '  if (i < 2) process.stdout.write(`line ${i}? `); else process.stdin.destroy(); });\n',
    once='const rl = require("readline").createInterface(\n'
         '  { input: process.stdin, output: process.stdout });\n'
         'rl.question("Name? ", (name) => {\n'
         '  console.log(`hello ${name}`);\n  rl.close();\n  process.exitCode = 3;\n});\n',
)

LUA = Case(
    lang="lua", commands=("lua5.4",), main="main.lua",
    hello='print("hello from Lua")\n', hello_out="hello from Lua\n",
    failing='error("broken on purpose")\n', failing_exit=1, failing_says="broken on purpose",
    loop='print("looping")\nio.stdout:flush()\nwhile true do end\n',
    echo='for i = 0, 1 do\n  io.write("line " .. i .. "? ")\n'
         '  local l = io.read("l")\n  print("got " .. l)\nend\n',
    once='io.write("Name? ")\nlocal name = io.read("l")\nprint("hello " .. name)\nos.exit(3)\n',
)

PHP = Case(
    lang="php", commands=("php",), main="main.php",
    hello='<?php\necho "hello from PHP\\n";\n', hello_out="hello from PHP\n",
    failing='<?php\nthrow new Exception("broken on purpose");\n', failing_exit=255,
    failing_says="broken on purpose",
    loop='<?php\necho "looping\\n";\nwhile (true) { sleep(1); }\n',
    echo='<?php\nfor ($i = 0; $i < 2; $i++) {\n  echo "line $i? ";\n'
         '  $l = fgets(STDIN);\n  echo "got " . $l;\n}\n',
    once='<?php\necho "Name? ";\n$name = trim(fgets(STDIN));\necho "hello $name\\n";\nexit(3);\n',
)

OCTAVE = Case(
    lang="octave", commands=("octave-cli",), main="main.m",
    hello='printf("hello from Octave\\n");\n', hello_out="hello from Octave\n",
    failing='error("broken on purpose");\n', failing_exit=1, failing_says="broken on purpose",
    loop='printf("looping\\n");\nfflush(stdout);\nwhile true\n  pause(1);\nend\n',
    echo='for i = 0:1\n  l = input(sprintf("line %d? ", i), "s");\n'
         '  printf("got %s\\n", l);\nend\n',
    once='name = input("Name? ", "s");\nprintf("hello %s\\n", name);\nexit(3);\n',
)


class TestNode(LanguageContract):
    case = NODE

    def test_after_rl_close_a_quiet_timer_is_not_a_question(self, runner: RunnerProcess
                                                             ) -> None:
        """libuv keeps a stopped stdin in its epoll set until it fires: waiting on a timer
        then looks like waiting on stdin, but the program is asked only once."""
        client = runner.client()
        client.send("code", 'const rl = require("readline").createInterface(\n'
                            '  { input: process.stdin, output: process.stdout });\n'
                            'rl.question("Name? ", (name) => { rl.close();\n'
                            '  setTimeout(() => { console.log(`bye ${name}`);\n'
                            '                     process.exitCode = 4; }, 2000); });\n')
        assert asked_once_then_finished(client, "Name? ", "Ada") == ("Name? bye Ada\n", 4)

    def test_a_reader_with_a_silent_timer_is_still_asked_each_line(self, runner: RunnerProcess
                                                                    ) -> None:
        client = runner.client()
        client.send("code", 'setInterval(() => {}, 300);\n'
                            'const rl = require("readline").createInterface(\n'
                            '  { input: process.stdin });\nlet n = 0;\n'
                            'process.stdout.write("line 0? ");\n'
                            'rl.on("line", (l) => { console.log(`got ${l}`);\n'
                            '  if (++n < 3) process.stdout.write(`line ${n}? `);\n'
                            '  else process.exit(0); });\n')
        for n, word in enumerate(("alpha", "beta")):
            assert until_input(client).endswith(f"line {n}? ")
            client.send("input", word)
        stdout, exit_code = asked_once_then_finished(client, "line 2? ", "gamma")
        assert (stdout, exit_code) == ("line 2? got gamma\n", 0)


class TestLua(LanguageContract):
    case = LUA


class TestPhp(LanguageContract):
    case = PHP

    def test_a_cell_with_or_without_its_own_php_tag_prints_no_tag(
            self, runner: RunnerProcess) -> None:
        client = runner.client()
        for code in ('echo "tagless\\n";', '<?php\necho "tagged\\n";'):
            result = client.query(code)
            assert result.exit_code == 0
            assert "<?php" not in result.stdout
        assert client.query('<?php echo 6 * 7;').stdout == "42"


class TestOctave(LanguageContract):
    case = OCTAVE

    def test_exec_runs_main_m_without_any_main_js(self, runner: RunnerProcess) -> None:
        write(runner.work_dir, {"main.m": 'disp(6 * 7)\n'})
        result = runner.client().batch(exec="*")
        assert (result.exec_exit, result.exec.stdout) == (0, "42\n")
