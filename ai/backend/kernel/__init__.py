"""krunner's `ai.backend.kernel`: what the agent bind-mounts into the kernel-runner volume.

Built by `python -m tools.bundle`, this folder is self-contained: `_krunner/` holds krunner's
own packages and `_vendor/` its pure-Python dependencies, so the agent's unchanged command
`python -s -m ai.backend.kernel [--debug] LANG [PATH]` starts krunner on the volume's Python
(docs/operations.md). `python.drawing` is the drawing API user code imports (PROTOCOL §10.1).

Nothing of krunner is imported here: user code that imports `ai.backend.kernel.python.drawing`
must not pull in the runner. A bundle built for another agent release says so in `VERSION`.
"""

from os import path as _path

KRUNNER_VERSION = "0.1.0"
ORIGINAL_VERSION = "23.9.10"  # the backend.ai-kernel release whose protocol krunner speaks


def _version() -> str:
    try:
        with open(_path.join(_path.dirname(__file__), "VERSION")) as f:
            return f.read().strip()
    except OSError:  # a source checkout
        return f"{ORIGINAL_VERSION}+krunner.{KRUNNER_VERSION}"


__version__ = _version()
