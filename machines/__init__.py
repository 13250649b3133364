"""The bottom layer: lifecycle state machines, the event record and its vocabulary.

Pure: a module here must not do I/O, use asyncio or read a clock, and must not import
`transcripts`, `runner` or `tools` (checked by import-linter and tests/test_golden.py).
Given the same events, the machines reach the same states.
"""
