"""The top layer for people: command-line tools over `transcripts` and a client for demos.

Thin over the library; must not import `runner` (checked by import-linter).
"""
