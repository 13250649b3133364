"""`python -m bench.languages [--rounds N] [--only c,java]`: each language through krunner.

For each compiled language, the agent's batch cycle (clean `*` + build `*` + exec `*` of hello
world) beside the same compiler and program run directly from here, interleaved round by
round; the ratio krunner / direct (target <= 1.15). For every installed language, the query
round trip of a print(1)-equivalent. Build outputs are removed before each round, outside the
timing, so both sides compile from scratch. Prints one JSON object, written to
build/languages.json too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.frontend import percentile
from tools.client import AgentClient
from tools.launch import ROOT, RunnerProcess, start_runner

# lang -> (main file, hello world printing "1")
HELLO: dict[str, tuple[str, str]] = {
    "c": ("main.c", '#include <stdio.h>\nint main(void) { printf("1\\n"); return 0; }\n'),
    "cpp": ("main.cpp", '#include <iostream>\nint main() { std::cout << 1 << std::endl; }\n'),
    "java": ("Main.java", "public class Main { public static void main(String[] a) {\n"
                          "  System.out.println(1); } }\n"),
    "rust": ("main.rs", 'fn main() { println!("1"); }\n'),
    "golang": ("main.go", 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println(1) }\n'),
    "haskell": ("main.hs", "main = print 1\n"),
    "nodejs": ("main.js", "console.log(1);\n"),
    "lua": ("main.lua", "print(1)\n"),
    "php": ("main.php", "<?php echo 1, \"\\n\";\n"),
    "octave": ("main.m", "disp(1)\n"),
    "scheme": ("main.scm", "(display 1)\n(newline)\n"),
    "r": ("main.R", "cat(1, '\\n')\n"),
    "python": ("main.py", "print(1)\n"),
}
QUERY = {**{lang: src for lang, (_, src) in HELLO.items()},
         "php": 'echo 1, "\\n";', "r": "cat(1, '\\n')", "python": "print(1)"}
# the same compiler and program, run directly: build commands, then the program
DIRECT: dict[str, list[list[str]]] = {
    "c": [["gcc", "-x", "c", "main.c", "-x", "none", "-Wall", "-o", "main", "-lm", "-lpthread",
           "-ldl"], ["./main"]],
    "cpp": [["g++", "-x", "c++", "main.cpp", "-x", "none", "-Wall", "-o", "main", "-lm",
             "-lpthread", "-ldl"], ["./main"]],
    "java": [["javac", "-d", ".", "Main.java"], ["java", "-cp", ".", "Main"]],
    "rust": [["rustc", "-o", "main", "main.rs"], ["./main"]],
    "golang": [["go", "build", "-o", "main", "main.go"], ["./main"]],
    "haskell": [["ghc", "--make", "-o", "main", "main.hs"], ["./main"]],
}
NEEDS = {"c": "gcc", "cpp": "g++", "java": "javac", "rust": "rustc", "golang": "go",
         "haskell": "ghc", "nodejs": "node", "lua": "lua", "php": "php", "octave": "octave-cli",
         "scheme": "mit-scheme", "r": "Rscript", "python": "python3"}
OUTPUTS = ("main", "a.out", "*.o", "*.hi", "*.class")


def remove_outputs(folder: Path) -> None:
    for pattern in OUTPUTS:
        for path in folder.glob(pattern):
            path.unlink()


def agent_cycle(client: AgentClient) -> float:
    """Seconds for clean `*` + build `*` + exec `*`, as the agent sends them."""
    began = time.perf_counter()
    result = client.batch(clean="*", build="*", exec="*", timeout=300)
    elapsed = time.perf_counter() - began
    codes = (result.clean_exit, result.build_exit, result.exec_exit)
    if codes != (0, 0, 0) or result.exec.stdout.strip() != "1":
        raise RuntimeError(f"the cycle failed: {codes} {result.stderr[-500:]}")
    return elapsed


def direct_cycle(folder: Path, lang: str, env: dict[str, str]) -> float:
    """The same compiler krunner uses (Debian's, in /usr/bin: not a rustup shim)."""
    began = time.perf_counter()
    for argv in DIRECT[lang]:
        program = argv[0] if argv[0].startswith(".") else f"/usr/bin/{argv[0]}"
        subprocess.run([program, *argv[1:]], cwd=folder, env=env, check=True,
                       stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - began


def compiled(lang: str, runner: RunnerProcess, folder: Path, rounds: int) -> dict[str, Any]:
    name, source = HELLO[lang]
    for place in (runner.work_dir, folder):
        (place / name).write_text(source)
    env = {**os.environ, "HOME": str(folder)}
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(rounds + 1):  # the first round warms caches (go build cache, JIT files)
        remove_outputs(runner.work_dir)
        mine = agent_cycle(runner.client())
        remove_outputs(folder)
        direct = direct_cycle(folder, lang, env)
        if i:
            ours.append(mine)
            theirs.append(direct)
    k, d = percentile(ours, .5) * 1000, percentile(theirs, .5) * 1000
    return {"krunner_ms": round(k, 1), "direct_ms": round(d, 1), "ratio": round(k / d, 3)}


def query_round_trip(lang: str, runner: RunnerProcess, rounds: int) -> dict[str, float]:
    client = runner.client()
    client.query(QUERY[lang], timeout=300)
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        result = client.query(QUERY[lang], timeout=300)
        samples.append(time.perf_counter() - began)
        if result.exit_code != 0 or "1" not in result.stdout:
            raise RuntimeError(f"{lang} query failed: {result.stderr[-500:]}")
    return {"p50_ms": round(percentile(samples, .5) * 1000, 1),
            "max_ms": round(max(samples) * 1000, 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="bench.languages")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default="", help="comma-separated runtime types")
    a = p.parse_args(argv)
    langs = [x for x in (a.only.split(",") if a.only else HELLO) if shutil.which(NEEDS[x])]
    result: dict[str, Any] = {"rounds": a.rounds, "batch_cycle": {}, "query_round_trip": {}}
    with tempfile.TemporaryDirectory(prefix="bench-languages-") as tmp:
        for lang in langs:
            agent_path = {} if lang == "python" else {"runtime": None}
            runner = start_runner(Path(tmp), lang, **agent_path)  # type: ignore[arg-type]
            try:
                runner.client(timeout=300).status()
                if lang in DIRECT:
                    folder = Path(tempfile.mkdtemp(dir=tmp))
                    result["batch_cycle"][lang] = compiled(lang, runner, folder, a.rounds)
                result["query_round_trip"][lang] = query_round_trip(lang, runner, a.rounds)
            finally:
                runner.stop()
    text = json.dumps(result, indent=2)
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "languages.json").write_text(text)
    print(text)
    return result


if __name__ == "__main__":
    main()
