"""`python -m runner [--debug] LANG [RUNTIME_PATH]`: start a kernel runner."""

from __future__ import annotations

import asyncio
import sys

from runner.config import parse_args
from runner.core import Runner


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    return asyncio.run(Runner(config).serve())


if __name__ == "__main__":
    sys.exit(main())
