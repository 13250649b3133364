#!/usr/bin/env python3
"""A stand-in for `julia` (no registry has a Julia package): it speaks the command line the
Julia driver uses, `julia PROGRAM.jl`, records each call (argv and working folder) as a JSON
line in `calls.jsonl` beside itself, and then becomes `/bin/sh PROGRAM.jl`: the tests write
their programs in sh. It must never accept a switch or a second argument: the driver passes
none, and a change to that must show up here as exit code 2."""

import json
import os
import sys
from pathlib import Path

args = sys.argv[1:]
with open(Path(sys.argv[0]).parent / "calls.jsonl", "a") as calls:
    calls.write(json.dumps({"argv": args, "cwd": os.getcwd()}) + "\n")
if len(args) != 1 or args[0].startswith("-") or not args[0].endswith(".jl"):
    print(f"julia stand-in: expected `julia PROGRAM.jl`, got {args}", file=sys.stderr)
    sys.exit(2)
if not os.path.isfile(args[0]):
    print(f"ERROR: SystemError: opening file {args[0]!r}: No such file or directory",
          file=sys.stderr)
    sys.exit(1)
os.execv("/bin/sh", ["/bin/sh", args[0]])
