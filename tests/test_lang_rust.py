"""Rust on Debian's rustc/cargo: the contract, and a runner that does not lean on rustup."""

from __future__ import annotations

from pathlib import Path

from tests.lang_contract import Case, CompiledContract
from tests.lang_support import need, start, write

RUST = Case(
    lang="rust", commands=("rustc", "cargo"), main="main.rs",
    hello='fn main() { println!("hello from Rust"); }\n', hello_out="hello from Rust\n",
    failing='fn main() { panic!("broken on purpose"); }\n', failing_exit=101,
    failing_says="broken on purpose",
    compile_error="fn main() { let x: i32 = undefined_name; }\n",
    error_says="cannot find value",
    loop='fn main() { println!("looping");\n'
         '  loop { std::thread::sleep(std::time::Duration::from_secs(1)); } }\n',
    echo='use std::io::{self, BufRead, Write};\n'
         'fn main() { let stdin = io::stdin();\n'
         '  for i in 0..2 { print!("line {}? ", i); io::stdout().flush().unwrap();\n'
         '    let mut s = String::new(); stdin.lock().read_line(&mut s).unwrap();\n'
         '    println!("got {}", s.trim_end()); } }\n',
    once='use std::io::{self, Write};\n'
         'fn main() { print!("Name? "); io::stdout().flush().unwrap();\n'
         '  let mut s = String::new(); io::stdin().read_line(&mut s).unwrap();\n'
         '  println!("hello {}", s.trim_end()); std::process::exit(3); }\n',
)


class TestRust(CompiledContract):
    case = RUST


def test_cargo_and_rustc_work_with_home_moved_and_rustup_first_on_path(
        tmp_path: Path) -> None:
    need("rustc", "cargo")
    rustup_bin = Path.home() / ".cargo" / "bin"
    path = f"{rustup_bin}:/usr/local/bin:/usr/bin:/bin"
    runner = start(tmp_path, "rust", env={"HOME": "/nonexistent", "PATH": path,
                                          "RUSTUP_HOME": "/nonexistent"})
    try:
        write(runner.work_dir, {
            "Cargo.toml": '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n',
            "src/main.rs": 'fn main() { println!("hello from cargo"); }\n'})
        result = runner.client(timeout=300).batch(build="*", exec="*", timeout=300)
        assert (result.build_exit, result.exec_exit) == (0, 0), result.build.stderr
        assert result.exec.stdout == "hello from cargo\n"
        query = runner.client().query('fn main() { println!("{}", 6 * 7); }')
        assert (query.exit_code, query.stdout) == (0, "42\n"), query.stderr
    finally:
        runner.stop()
