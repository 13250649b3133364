"""Julia: `julia main.jl`, IJulia for queries where it is installed, else a temporary program.

Julia has no Debian package; where it is missing every `*` step and query ends with 127 and
a message naming it. (Untested with a real Julia on the machines this was built on.)
"""

from __future__ import annotations

from runner.languages.kernels import KernelOrProgramDriver
from runner.languages.toolchain import Tool


class JuliaDriver(KernelOrProgramDriver):
    lang = "julia"
    tool = Tool("Julia (julia)", ("julia",),
                places=("/usr/local/julia/bin/julia", "/opt/julia*/bin/julia"))
    suffix = ".jl"
    kernel_prefix = "julia"
