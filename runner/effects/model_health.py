"""The model-health machine's effect table: what the runner does on entering each state.

Each entry names the `ModelServices` method (runner/model_service.py) that acts.
"""

from __future__ import annotations

ON_ENTER: dict[str, str] = {
    "healthy": "send_status",  # model-service-status is_healthy true
    "unhealthy": "send_status",  # model-service-status is_healthy false
    "stopped": "send_stopped",  # false too, unless the agent was already told unhealthy
}
