"""The middle layer: the SQLite event log, its readers, portable transcripts, offline replay.

May import `machines`; must not import `runner` or `tools` (checked by import-linter). Only
the store writes the events table.
"""
