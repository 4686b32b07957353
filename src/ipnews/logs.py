"""Log lines on stderr, for people: the one place logging is set up."""

from __future__ import annotations

import logging
import sys


class SafeFormatter(logging.Formatter):
    """Log lines quote servers and pages (URLs, headers, titles): no control character
    from them may reach the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        from ipnews.formats import safe

        return safe(super().format(record), one_line=True)


def configure(level: str) -> None:
    """ipnews' loggers to stderr at this level ("debug", "info", "warning", "error")."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("%(message)s"))
    root = logging.getLogger("ipnews")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
