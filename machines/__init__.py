"""The bottom layer: lifecycle state machines, the event record and its vocabulary.

Pure: no I/O, no asyncio, no clocks, and no import of `transcripts`, `runner` or `tools`
(checked by import-linter). Given the same events, the machines reach the same states.
"""
