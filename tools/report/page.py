"""The report's HTML file, written front to back as the session streams past.

Self-contained: styles and script inline (`report.css`, `report.js` beside this module), the
drawings as inline SVG, the data as JSON, and a Content-Security-Policy that forbids every
fetch, so opening it reaches no network. Pages of events are gzip, base64, in inert
`<script type="application/x-krunner-page">` elements that the page decompresses when they
are shown (a million events make a file of tens of MB that opens in a second or two). Data
is never markup: JSON with every `<` escaped, and the page sets text, never HTML. The file
is written beside its final name and renamed when complete, mode 0600 (it holds what the
session's runs printed). Must never write anywhere else.
"""

from __future__ import annotations

import base64
import os
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
          "img-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'")
SKELETON = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head><body>
<header><h1>{title}</h1><div id="origin"></div></header>
<nav id="tabs"></nav>
<main id="views"><p id="loading">Reading the report…</p></main>
<div hidden id="pages">
"""


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no `<`, so no `</script>` and no `<!--`."""
    return orjson.dumps(value).decode().replace("<", "\\u003c")


def _escaped(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


class PageFile:
    """`with PageFile(path, title) as page`: page(...) chunks, then `finish`."""

    def __init__(self, path: Path, title: str) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        self.out = os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20)
        self.out.write(SKELETON.format(policy=POLICY, title=_escaped(title),
                                       css=(HERE / "report.css").read_text()))
        self.size = 0

    def __enter__(self) -> PageFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.out.close()
        if kind is None:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)

    def page(self, name: str, number: int, data: bytes) -> None:
        """One page of data (JSON bytes), gzip and base64 in an inert element."""
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: the gzip format
        packed = base64.b64encode(packer.compress(data) + packer.flush()).decode("ascii")
        self.out.write(f'<script type="application/x-krunner-page" id="{name}{number}">'
                       f"{packed}</script>\n")

    def finish(self, meta: dict[str, Any], drawings: dict[str, str]) -> None:
        """The data the page starts from, the drawings, and the script that shows them."""
        self.out.write("</div>\n")
        for name, svg in drawings.items():
            self.out.write(f'<template id="drawing-{name}">{svg}</template>\n')
        self.out.write(f'<script type="application/json" id="meta">{script_json(meta)}'
                       "</script>\n")
        self.out.write(f"<script>{(HERE / 'report.js').read_text()}</script>\n"
                       "</body></html>\n")
