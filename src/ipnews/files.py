"""Files ipnews writes beside the archive (`<db>.verified`, `<db>.lock`, backups): never
through a symbolic link, never into a FIFO or a device, and replaced atomically.

A symlink planted at `<db>.verified` once made a fetch overwrite whatever it pointed to;
a FIFO at `<db>.lock` made it fail with a bare OSError. Every such path is checked with
lstat before use and opened with O_NOFOLLOW, so the check cannot be raced into following
a link.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ipnews.errors import StorageError

# What SQLite itself creates beside the database: a symlink there would make SQLite write
# its journal through it.
SQLITE_SIDECARS = ("-journal", "-wal", "-shm")


def beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def refuse_odd_file(path: Path) -> None:
    """Raise StorageError unless path is absent or a regular file (not a link to one)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorageError(f"cannot inspect {path}: {exc.strerror}") from exc
    if stat.S_ISLNK(mode):
        raise StorageError(f"refusing to use {path}: it is a symbolic link, and ipnews never "
                           "writes through one (remove it and run again)")
    if not stat.S_ISREG(mode):
        raise StorageError(f"refusing to use {path}: it is not a regular file (remove it and "
                           "run again)")


def open_regular(path: Path, flags: int, mode: int = 0o644, follow: bool = False) -> int:
    """os.open that refuses links and special files, race-free: O_NOFOLLOW for links,
    O_NONBLOCK so a FIFO cannot block the open, then fstat on what was actually opened.
    follow: a link is followed (a file the user names, to read)."""
    if not follow:
        refuse_odd_file(path)
    try:
        fd = os.open(path, flags | (0 if follow else os.O_NOFOLLOW) | os.O_NONBLOCK
                     | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise StorageError(f"cannot open {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StorageError(f"refusing to use {path}: it is not a regular file")
    os.set_blocking(fd, True)
    return fd


def read_small(path: Path, limit: int = 4096) -> bytes | None:
    """The first `limit` bytes of a regular file; None if it is absent or anything else."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except StorageError:
        return None
    try:
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace path by a file holding data: a reader sees the old or the new file, never
    half of one, and a link planted at path is refused rather than followed."""
    with atomic_file(path) as out:
        out.write(data)


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A binary file to stream into, written under a fresh name beside path, synced, then
    renamed over path when the block ends without an error; otherwise path is untouched
    and the partial file removed."""
    refuse_odd_file(path)
    tmp = beside(path, f".{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {exc.strerror}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
