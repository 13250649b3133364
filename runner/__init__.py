"""The top layer: the runner process (front end, runs, drivers, services, effect tables).

Acts on machine transitions and emits events; never decides a lifecycle state itself, and
never imports `tools` (checked by import-linter).
"""
