"""The agent's unchanged container command, `python -s -m ai.backend.kernel [--debug] LANG [PATH]`.

Installed with krunner (`pip install krunner[agent-compat]` puts this module on the path), it
starts krunner with the same arguments.
"""

import sys

from runner.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
