"""The agent's unchanged container command, `python -s -m ai.backend.kernel [--debug] LANG [PATH]`.

In a bundle (`python -m tools.bundle`, mounted by the agent) it finds krunner inside this
folder; in a source checkout or a `pip install` of krunner, on the usual path.
"""

import sys

from ai.backend.kernel.bundled import add_bundled_paths

add_bundled_paths()

from runner.__main__ import main  # noqa: E402  (after the bundle's paths are in place)

if __name__ == "__main__":
    sys.exit(main())
