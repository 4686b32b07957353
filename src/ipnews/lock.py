"""One fetch at a time per archive: a kernel lock on a separate file next to the database.

flock is released by the kernel when the holder dies, so there is never a stale lock to
clean up; the lock file is never the database itself (closing any descriptor of the
database would drop SQLite's own POSIX locks).
"""

from __future__ import annotations

import fcntl
import os
from datetime import datetime, timezone
from pathlib import Path

from ipnews.errors import LockedError, StorageError
from ipnews.files import beside, open_regular


class RunLock:
    def __init__(self, db_path: Path) -> None:
        # The caller passes the archive's real path, so that two names for one file (a
        # symlink, a relative path) take one lock.
        self.path = beside(db_path, ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create lock file {self.path}: {exc.strerror}") from exc
        fd = open_regular(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise LockedError(f"another ipnews fetch is running on {self.path.with_suffix('')} "
                              f"({holder}); try again later") from None
        os.ftruncate(fd, 0)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.write(fd, f"pid {os.getpid()}, since {started}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
