"""Python extras for user code (PROTOCOL §10): the drawing API in `drawing`."""
