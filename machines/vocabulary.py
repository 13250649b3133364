"""Names of the inputs and observations that drive the machines.

The runner emits events with these names; `machines.registry` routes each one to the machine
of its `source` as a trigger. Replay feeds the same recorded events to fresh machines, so
these names (and the data keys listed beside them) are the whole contract.
"""

# --- kernel (source "kernel") ---------------------------------------------------------------
DRIVER_READY = "DriverReady"  # language driver (and its Jupyter kernel, if any) is ready
DRIVER_FAILED = "DriverFailed"  # {"reason": str}; query mode unavailable for good
KERNEL_DIED = "KernelDied"  # {"reason": str}; the Jupyter kernel died or lost its heartbeat
KERNEL_RESTARTED = "KernelRestarted"  # the runner brought a new Jupyter kernel up
KERNEL_RESTART_FAILED = "KernelRestartFailed"  # {"reason": str}
SHUTDOWN_REQUESTED = "ShutdownRequested"  # {"signal": str}
RUNNER_STOPPED = "RunnerStopped"  # every child gone, about to exit

# --- run (source "run:<n>") -----------------------------------------------------------------
# A run machine is created by the *input* event of op clean / build / exec / code with that
# source (data = the raw payload bytes). Then:
RUN_STARTED = "RunStarted"  # {"op": "clean"|"build"|"exec"|"code"}; dequeued, about to work
INPUT_REQUESTED = "InputRequested"  # {"is_password": bool}; the program waits for input
INPUT_OP = "input"  # the agent's input frame, routed to the run that is waiting
INTERRUPT_OP = "interrupt"  # the agent's interrupt frame, routed to the current run
RUN_ENDED = "RunEnded"  # {"exit_code": int, "failed": bool, "reason": str|None}

# --- service (source "service:<name>") ------------------------------------------------------
START_SERVICE_OP = "start-service"  # input; recorded only: the supervisor decides (below)
SERVICE_START_REQUESTED = "ServiceStartRequested"  # {"port", "protocol", supervision params}
SERVICE_SPAWNED = "ServiceSpawned"  # {"pid": int, "wait_port": bool}
SERVICE_PORT_OPENED = "ServicePortOpened"  # {"port": int}
SERVICE_START_FAILED = "ServiceStartFailed"  # {"reason": str}
SHUTDOWN_SERVICE_OP = "shutdown-service"  # input
PROCESS_EXITED = "ProcessExited"  # {"pid": int, "exit_code": int, "uptime": float}
SERVICE_LAUNCH_ABANDONED = "ServiceLaunchAbandoned"  # stopped before its process started
SERVICE_STOP_REQUESTED = "ServiceStopRequested"  # {"reason": str}; e.g. runner shutdown
SERVICE_RESTARTING = "ServiceRestarting"  # {"delay": float}

# --- model health (source "model:<name>") ---------------------------------------------------
MODEL_CONFIGURED = "ModelConfigured"  # {"initial_delay", "period", "timeout",
#                                        "success_threshold", "failure_threshold"}
PROBE_SUCCEEDED = "ProbeSucceeded"  # {"status": int, "latency_ms": float}
PROBE_FAILED = "ProbeFailed"  # {"reason": str, "status": int|None, "latency_ms": float}
# PROCESS_EXITED (above) with a model source: unhealthy at once.
HEALTH_CHECK_ABSENT = "HealthCheckAbsent"  # no health_check defined: healthy once started
MODEL_STOPPED = "ModelStopped"  # shutdown-service or runner shutdown ended the model service
