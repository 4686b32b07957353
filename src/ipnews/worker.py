"""Extraction in a separate process, with a wall-clock timeout and a memory limit.

Parsers are C code (lexbor, libxml2) and trafilatura has known pathological inputs: a page
of 200k links takes half a minute, some pages never finish, a few crash the interpreter,
and memory grows page after page. None of that can be stopped from inside the process
(a signal cannot interrupt a C loop), so a fetch run extracts in a child process that is
killed on timeout, recycled every few hundred pages, and capped with RLIMIT_AS.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import zlib
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ipnews.article import Article
from ipnews.errors import ExtractError

DEFAULT_TIMEOUT = 30.0
MAX_TASKS = 500
MEMORY_LIMIT = 1 << 30  # address space of the child; a bomb fails there, not in the run


@dataclass(frozen=True)
class Job:
    source: str
    base_url: str
    settings: dict[str, Any]
    body: bytes
    content_type: str | None
    url: str
    keep_raw: bool = False  # also compress the raw body for the archive
    ip_only: bool = False  # also decide whether the story is about IP


@dataclass(frozen=True)
class Extracted:
    article: Article
    encoding: str
    replacements: int
    zbody: bytes | None = None  # zlib-compressed raw body, when the job asked for it
    ip_related: bool | None = None


def run_job(job: Job, cache: dict[tuple, Any] | None = None) -> Extracted:
    """Decode and extract one page; the same code runs in the child and in-process."""
    from ipnews.decoding import decode_html
    from ipnews.sources import get_source_class

    key = (job.source, job.base_url, repr(sorted(job.settings.items())))
    source = cache.get(key) if cache is not None else None
    if source is None:
        source = get_source_class(job.source)(base_url=job.base_url, **job.settings)
        if cache is not None:
            cache[key] = source
    decoded = decode_html(job.body, job.content_type)
    article = source.extract(decoded.text, job.url)
    ip_related = None
    if job.ip_only:
        from ipnews.relevance import is_ip_related

        ip_related = is_ip_related(article.title, article.summary or "", " ".join(article.tags),
                                   article.body)
    zbody = zlib.compress(job.body, 6) if job.keep_raw else None
    return Extracted(article, decoded.encoding, decoded.replacements, zbody, ip_related)


def _child(conn: Connection, memory_limit: int) -> None:  # pragma: no cover - in the child
    import resource
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    if memory_limit:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    cache: dict[tuple, Any] = {}
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            conn.send(("ok", run_job(job, cache)))
        except ExtractError as exc:
            conn.send(("extract_error", exc.kind, str(exc)))
        except MemoryError:
            conn.send(("extract_error", "too_large", "extraction ran out of memory"))
        except RecursionError:
            conn.send(("extract_error", "no_article", "page nested too deeply"))
        except Exception as exc:  # a parser bug must not end the run
            conn.send(("extract_error", "extract_failed", f"{type(exc).__name__}: {exc}"))


class Extractor:
    """A child process that extracts pages one at a time."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, max_tasks: int = MAX_TASKS,
                 memory_limit: int = MEMORY_LIMIT) -> None:
        self.timeout = timeout
        self.max_tasks = max_tasks
        self.memory_limit = memory_limit
        # spawn, not fork: the parent may have threads (fork would copy their locks).
        self._ctx = mp.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None
        self._tasks = 0
        self._sent = False

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_child, args=(child, self.memory_limit),
                                       daemon=True, name="ipnews-extract")
        self._proc.start()
        child.close()
        self._conn = parent
        self._tasks = 0

    def _stop(self, kill: bool = False) -> None:
        if self._proc is None:
            return
        try:
            if not kill and self._conn is not None:
                self._conn.send(None)
                self._proc.join(2)
        except (OSError, EOFError, BrokenPipeError):
            pass
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(2)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def submit(self, job: Job) -> None:
        """Hand a page to the child and return at once: the caller fetches the next page
        while this one is extracted on the other core. Collect it before the next submit."""
        if self._proc is None or self._tasks >= self.max_tasks or not self._proc.is_alive():
            self._stop()
            self._start()
        assert self._conn is not None
        self._tasks += 1
        try:
            self._conn.send(job)
            self._sent = True
        except (OSError, BrokenPipeError):
            self._sent = False

    def collect(self) -> Extracted:
        try:
            if not self._sent or self._conn is None:
                raise EOFError
            ready = self._conn.poll(self.timeout)
            reply = self._conn.recv() if ready else None
        except (EOFError, OSError, BrokenPipeError):
            self._stop(kill=True)
            raise ExtractError("the extractor process died on this page",
                               "extract_crashed") from None
        if reply is None:
            self._stop(kill=True)
            raise ExtractError(f"extraction took longer than {self.timeout:g} s",
                               "extract_timeout")
        if reply[0] == "ok":
            return reply[1]
        raise ExtractError(reply[2], reply[1])

    def extract(self, job: Job) -> Extracted:
        self.submit(job)
        return self.collect()

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcess:
    """The same interface, extracting in this process: for tools and tests."""

    def __init__(self) -> None:
        self._cache: dict[tuple, Any] = {}
        self._job: Job | None = None

    def submit(self, job: Job) -> None:
        self._job = job

    def collect(self) -> Extracted:
        job, self._job = self._job, None
        assert job is not None
        return run_job(job, self._cache)

    def extract(self, job: Job) -> Extracted:
        return run_job(job, self._cache)

    def close(self) -> None:
        pass
