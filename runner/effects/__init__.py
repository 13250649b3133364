"""What the runner does when a machine enters a state: one effect table per machine.

The transition tables in `machines/` say when states change; the tables here say what the
runner does about it (send a frame, start work, restart a kernel). Each module maps a state
to one handler and holds nothing else but those handlers.
"""
