"""`krunner-transcript report`: one session as a self-contained HTML file to open in a browser.

`source` opens what the report is made from (a transcript, checked line by line and read into
a private temporary log; or a session of a log), `collect` reads the session once and writes
its events, transitions and runs as compressed pages, `timeline` draws the session on one
time axis, `page` writes the file (styles and script inline, no network). Read-only: it must
never write to a log it was given, nor anywhere but its output file and its temporary folder.
"""

from tools.report.build import write_report

__all__ = ["write_report"]
