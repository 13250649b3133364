"""`python -m tools.inspect`."""

import sys

from tools.inspect.cli import main

sys.exit(main())
