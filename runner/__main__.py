"""`python -m runner [--debug] LANG [RUNTIME_PATH]`: start a kernel runner."""

from __future__ import annotations

import asyncio
import sys

from runner.config import parse_args
from runner.core import Runner
from runner.shutdown import exit_now


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    code = asyncio.run(Runner(config).serve())
    exit_now(code)  # the shutdown is over: nothing may hold the process any longer
    return code


if __name__ == "__main__":
    sys.exit(main())
