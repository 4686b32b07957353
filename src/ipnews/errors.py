"""The exception tree, and the exit code each kind of failure maps to.

IpnewsError
 +- UsageError          bad query, option or config           -> exit 2
 +- StorageError        database missing, corrupt, newer, full -> exit 4
 |   +- DiskFullError
 +- LockedError         another fetch holds the archive lock    -> exit 75
 +- FetchError          one URL could not be fetched (recorded per URL, never fatal for a run)
 |   +- TransientError  worth retrying: connect/read failure, 5xx, 429, timeout
 |   +- PermanentError  not worth retrying: 4xx, refused redirect, too large, not HTML, robots
 +- ExtractError        a page was fetched but holds no article we can keep

The library raises these; only cli.py turns them into messages and exit codes.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_STORAGE = 4
EXIT_OUTAGE = 5  # fetch: not one source could be read (the network or every site is down)
EXIT_ALARM = 6  # fetch: a source looks broken (its site changed): someone must fix its parser
EXIT_LOCKED = 75
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class IpnewsError(Exception):
    exit_code = EXIT_BUG


class UsageError(IpnewsError):
    exit_code = EXIT_USAGE


class StorageError(IpnewsError):
    exit_code = EXIT_STORAGE


class DiskFullError(StorageError):
    pass


class LockedError(IpnewsError):
    exit_code = EXIT_LOCKED


class FetchError(IpnewsError):
    """A URL could not be fetched. ``kind`` is a short stable label stored in fetch_log."""

    exit_code = EXIT_PARTIAL

    def __init__(self, message: str, kind: str = "error", *, url: str | None = None,
                 status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.url = url
        self.status = status
        self.retry_after = retry_after


class TransientError(FetchError):
    pass


class PermanentError(FetchError):
    pass


class ExtractError(IpnewsError):
    exit_code = EXIT_PARTIAL

    def __init__(self, message: str, kind: str = "no_article") -> None:
        super().__init__(message)
        self.kind = kind


class Interrupted(IpnewsError):
    """SIGINT or SIGTERM arrived; the current article was finished or rolled back."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum
        self.exit_code = EXIT_SIGINT if signum == 2 else EXIT_SIGTERM
