"""Names and payload shapes of the inputs and observations that drive the machines.

The runner emits events with these names; `machines.registry` routes each one to the machine
of its `source` as a trigger. Replay feeds the same recorded events to fresh machines, so
these names and the payload types beside them (one `TypedDict` per event, named after it)
are the whole contract. Also the few constants more than one layer needs. Pure data: it
must not hold behaviour or import the rest of the project.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

SKIPPED_EXIT_CODE = 127  # a step that could not run at all: exec after a failed build
#                          (PROTOCOL §5.1), query mode unavailable; the shell's "not found"

# --- kernel (source "kernel") ---------------------------------------------------------------
RUNNER_STARTED = "RunnerStarted"  # the runner process is up; creates the kernel machine
SOCKETS_BOUND = "SocketsBound"
DRIVER_READY = "DriverReady"  # language driver (and its Jupyter kernel, if any) is ready
DRIVER_FAILED = "DriverFailed"  # query mode unavailable for good
KERNEL_DIED = "KernelDied"  # the Jupyter kernel died or lost its heartbeat
KERNEL_RESTARTED = "KernelRestarted"  # the runner brought a new Jupyter kernel up
KERNEL_RESTART_FAILED = "KernelRestartFailed"
BOOTSTRAP_EXITED = "BootstrapExited"  # the user's bootstrap.sh has ended
SERVICE_DEFINITION_INVALID = "ServiceDefinitionInvalid"
SHUTDOWN_REQUESTED = "ShutdownRequested"
RUNNER_STOPPED = "RunnerStopped"  # every child gone, about to exit


class RunnerStarted(TypedDict):
    lang: str
    runtime: str
    work_dir: str
    state_dir: str


class SocketsBound(TypedDict):
    input: int
    output: int


class DriverReady(TypedDict):
    query: bool  # False: this runtime has no query mode (`reason` says so)
    kernel_pid: NotRequired[int | None]
    reason: NotRequired[str]


class Reason(TypedDict):
    """DriverFailed, KernelDied, KernelRestartFailed, ServiceStartFailed: what went wrong."""

    reason: str


class BootstrapExited(TypedDict):
    exit_code: int


class ServiceDefinitionInvalid(TypedDict):
    service: str
    reason: str


class ShutdownRequested(TypedDict):
    signal: str


# --- run (source "run:<n>") -----------------------------------------------------------------
# A run machine is created by the *input* event of op clean / build / exec / code with that
# source (data = the raw payload bytes). Then:
RUN_OPS = ("clean", "build", "exec", "code")
RUN_STARTED = "RunStarted"  # dequeued, about to work
PROCESS_STARTED = "ProcessStarted"  # a batch step's process group was spawned
INPUT_REQUESTED = "InputRequested"  # the program waits for input
INPUT_OP = "input"  # the agent's input frame, routed to the run that is waiting
INTERRUPT_OP = "interrupt"  # the agent's interrupt frame, routed to the current run
OUTPUT_RECORDING_CAPPED = "OutputRecordingCapped"  # later output is sent, not recorded
RUN_ENDED = "RunEnded"  # the work is over, with this exit code


class RunStarted(TypedDict):
    op: str


class ProcessStarted(TypedDict):
    pid: int
    command: str | list[str]


class InputRequested(TypedDict):
    is_password: bool


class OutputRecordingCapped(TypedDict):
    limit: int


class RunEnded(TypedDict):
    exit_code: int
    failed: bool  # the runner could not do the work (kernel died, step could not start)
    reason: str | None
    output_bytes: NotRequired[int]
    recorded_bytes: NotRequired[int]


# --- service (source "service:<name>") ------------------------------------------------------
START_SERVICE_OP = "start-service"  # input; recorded only: the supervisor decides (below)
SERVICE_START_REQUESTED = "ServiceStartRequested"  # the machine's `start` (params below)
SERVICE_SPAWNED = "ServiceSpawned"
SERVICE_PORT_OPENED = "ServicePortOpened"
SERVICE_START_FAILED = "ServiceStartFailed"  # Reason
SHUTDOWN_SERVICE_OP = "shutdown-service"  # input
PROCESS_EXITED = "ProcessExited"  # also a run's batch process, and a model's server
SERVICE_LAUNCH_ABANDONED = "ServiceLaunchAbandoned"  # Reason; stopped before it was spawned
SERVICE_STOP_REQUESTED = "ServiceStopRequested"  # Reason; e.g. the runner shuts down
SERVICE_RESTARTING = "ServiceRestarting"


class ServiceStartRequested(TypedDict):
    port: int | None
    protocol: str
    start_window: float  # supervision parameters (machines/service.py SUPERVISION)
    start_retries: int
    backoff_base: float
    backoff_max: float
    expected_exit_codes: list[int]


class ServiceSpawned(TypedDict):
    pid: int | None  # None: a `noop` definition, nothing to spawn
    argv: NotRequired[list[str]]
    wait_port: NotRequired[bool]  # False: running at once (model servers)


class ServicePortOpened(TypedDict):
    port: int | None


class ProcessExited(TypedDict):
    pid: int
    exit_code: int
    uptime: NotRequired[float]  # seconds since spawned (the start window's measure)


class ServiceRestarting(TypedDict):
    delay: float
    attempt: NotRequired[int]


# --- model health (source "model:<name>") ---------------------------------------------------
MODEL_CONFIGURED = "ModelConfigured"
PROBE_SUCCEEDED = "ProbeSucceeded"
PROBE_FAILED = "ProbeFailed"
# PROCESS_EXITED (above) with a model source: unhealthy at once.
HEALTH_CHECK_ABSENT = "HealthCheckAbsent"  # no health_check defined: healthy once started
MODEL_STOPPED = "ModelStopped"  # shutdown-service or runner shutdown ended the model service


class ModelConfigured(TypedDict):
    """The health machine's parameters (machines/model_health.py params_from_definition)."""

    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int
    path: NotRequired[str]
    expected_status: NotRequired[int]


class ProbeSucceeded(TypedDict):
    status: int
    latency_ms: float
    redirects: NotRequired[int]  # followed before the final answer


class ModelStopped(TypedDict):
    reason: str
    start_failed: NotRequired[bool]  # the agent already knows from the failed reply


class ProbeFailed(TypedDict):
    reason: str
    status: int | None
    latency_ms: float


# --- terminal (source "terminal": the git runtime's shell, machines/terminal.py) -------------
TERMINAL_BOUND = "TerminalBound"  # both sockets bound; creates the machine (`start`)
SHELL_STARTED = "ShellStarted"
SHELL_START_FAILED = "ShellStartFailed"  # Reason: no pty, or the shell could not be spawned
SHELL_EXITED = "ShellExited"
SHELL_RESTARTING = "ShellRestarting"  # the back-off delay is over
SHELL_START_REQUESTED = "ShellStartRequested"  # Enter typed at a fatal terminal
TERMINAL_STOP_REQUESTED = "TerminalStopRequested"  # Reason; the runner shuts down
TERMINAL_RESIZED = "TerminalResized"  # recorded only


class TerminalBound(TypedDict):
    """The ports, and the supervision parameters (machines/terminal.py SUPERVISION)."""

    keystrokes: int
    screen: int
    stable_after: float
    backoff_base: float
    backoff_max: float
    give_up_after: int


class ShellStarted(TypedDict):
    pid: int
    tty: str
    argv: list[str]


class ShellExited(TypedDict):
    pid: int
    exit_code: int
    lived_s: float  # seconds from spawn to exit: a quick end is below `stable_after`


class ShellRestarting(TypedDict):
    delay: float
    quick_ends: int


class TerminalResized(TypedDict):
    rows: int
    cols: int
