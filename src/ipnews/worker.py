"""Extraction in a separate process, with a wall-clock timeout and a memory limit.

Parsers are C code (lexbor, libxml2) and trafilatura has known pathological inputs: a page
of 200k links takes half a minute, some pages never finish, a few crash the interpreter,
and memory grows page after page. None of that can be stopped from inside the process
(a signal cannot interrupt a C loop), so everything that reads a page fetched from the
web (articles, listing pages, `ipnews extract`) runs in a child process that is killed on
timeout, recycled every few hundred pages, and capped with RLIMIT_AS.

The child is quiet and dies with its parent: it reports only through its pipe, and a
parent killed mid-page (kill -9, SIGTERM to reextract) must leave neither a traceback on
the terminal nor an orphan working on a page with no timeout left to stop it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ipnews.article import Article
from ipnews.errors import ExtractError

if TYPE_CHECKING:
    from ipnews.sources.base import ListingPage, Source

DEFAULT_TIMEOUT = 30.0
STOP_POLL = 0.1  # seconds: how soon a stop request is noticed while a page is read
MAX_TASKS = 500
MEMORY_LIMIT = 1 << 30  # address space of the child; a bomb fails there, not in the run
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class Job:
    """One article page to extract."""

    source: str  # a source's name, or "" for the generic extractor (any site)
    base_url: str
    settings: dict[str, Any]
    body: bytes
    content_type: str | None
    url: str
    keep_raw: bool = False  # also compress the raw body for the archive
    ip_only: bool = False  # also decide whether the story is about IP
    # For `ipnews extract`: canonicalize url with the source, and report the quality gate's
    # verdict and the IP terms found (see Extracted) instead of leaving them to the caller.
    inspect: bool = False
    canonical_link: bool = False  # url is a fallback: the page's <link rel=canonical> wins

    @classmethod
    def inspection(cls, source: Source | None, body: bytes, content_type: str | None,
                   url: str | None, fallback_url: str) -> Job:
        """A job for `ipnews extract`: the source's parser, or the generic extractor when
        source is None; a page with no url is named by its canonical link, else by
        fallback_url."""
        return cls(source.name if source else "", source.base_url if source else "",
                   dict(source.settings) if source else {}, body, content_type,
                   url or fallback_url, inspect=True, canonical_link=url is None)

    def run(self, cache: dict[tuple, Any]) -> Extracted:
        """Decode and extract the page; the same code runs in the child and in-process."""
        from ipnews.decoding import decode_html
        from ipnews.extraction import check_quality, check_size, generic_extract, parse_html
        from ipnews.relevance import ip_terms, is_ip_related, story_texts

        check_size(self.body)
        decoded = decode_html(self.body, self.content_type)
        html, url = decoded.text, self.url
        if self.canonical_link:
            link = parse_html(html).css_first('link[rel="canonical"]')
            href = link.attributes.get("href") if link is not None else None
            url = urljoin(url, href) if href else url  # a relative canonical link too
        refusal: tuple[str, str] | None = None
        terms: list[str] | None = None
        if not self.source:
            article = generic_extract(html, url)  # applies the quality gate itself
        else:
            source = _source(cache, self.source, self.base_url, self.settings)
            if self.inspect:
                url = source.canonical(url)
            article = source.extract(html, url)
            if self.inspect:
                try:
                    check_quality(article)
                except ExtractError as exc:
                    refusal = (exc.kind, str(exc))
                if source.ip_only:
                    terms = ip_terms(" ".join(story_texts(article)))
        ip_related = None
        if self.ip_only:
            ip_related = is_ip_related(*story_texts(article))
        zbody = zlib.compress(self.body, 6) if self.keep_raw else None
        analysis = None
        if not self.inspect and ip_related is not False:
            # Entities and fingerprint here, in the extraction process: the parent, which
            # stores every site's articles, only writes them.
            from ipnews.clustering import analyse

            analysis = analyse(article.title, article.summary, article.body)
        return Extracted(article, decoded.encoding, decoded.replacements, zbody, ip_related,
                         refusal, terms, analysis)


@dataclass(frozen=True)
class Extracted:
    article: Article
    encoding: str
    replacements: int
    zbody: bytes | None = None  # zlib-compressed raw body, when the job asked for it
    ip_related: bool | None = None
    refusal: tuple[str, str] | None = None  # inspect jobs: (kind, message) of the gate
    ip_terms: list[str] | None = None  # inspect jobs of sources that keep only IP stories
    analysis: Any = None  # clustering.analyse() of the article, for the store

    @property
    def refused(self) -> ExtractError | None:
        """Why the quality gate would keep the article out of the archive (inspect jobs).
        Carried as a tuple: an ExtractError loses its kind through pickle."""
        return ExtractError(self.refusal[1], self.refusal[0]) if self.refusal else None


@dataclass(frozen=True)
class ListingJob:
    """One document that leads to articles, with what the source learned from earlier
    ones: a listing page, a feed or a sitemap (kind)."""

    source: str
    base_url: str
    settings: dict[str, Any]
    memory: dict[str, Any]  # the source's listing_memory before this page
    body: bytes
    content_type: str | None
    url: str
    kind: str = "listing"

    def run(self, cache: dict[tuple, Any]) -> Listed:
        from ipnews.extraction import check_size

        check_size(self.body)
        source = _source(cache, self.source, self.base_url, self.settings)
        source.listing_memory = dict(self.memory)
        if self.kind == "listing":
            from ipnews.decoding import decode_html

            page = source.parse_listing(decode_html(self.body, self.content_type).text,
                                        self.url)
        else:
            page = _discovered(source, self.kind, self.body, self.url)
        return Listed(page, source.listing_memory)


def _discovered(source: Source, kind: str, body: bytes, url: str) -> ListingPage:
    """A feed's or sitemap's entries that are the source's articles, canonical."""
    from ipnews import discovery
    from ipnews.sources.base import ListingPage

    found = (discovery.parse_feed(body, url) if kind == "feed" else
             discovery.parse_sitemap(body, url))
    items = {}
    for item in found.items:
        item.url = source.canonical(source.from_mirror(item.url))
        item.origin = found.kind or kind
        if source.is_article_url(item.url):
            items.setdefault(item.url, item)
    return ListingPage(list(items.values()), None, found.more, found.newest)


@dataclass(frozen=True)
class Listed:
    page: ListingPage
    memory: dict[str, Any]  # the source's listing_memory after the page


def _listing_job(source: Source, body: bytes, content_type: str | None, url: str,
                 kind: str = "listing") -> ListingJob:
    return ListingJob(source.name, source.base_url, dict(source.settings),
                      dict(source.listing_memory), body, content_type, url, kind)


def _source(cache: dict[tuple, Any], name: str, base_url: str, settings: dict[str, Any]
            ) -> Source:
    from ipnews.sources import source_class

    key = (name, base_url, repr(sorted(settings.items())))
    source = cache.get(key)
    if source is None:
        source = cache[key] = source_class(name, settings)(base_url=base_url, **settings)
    return source


# --- the child -------------------------------------------------------------------------
def _child(conn: Connection, memory_limit: int, parent: int) -> None:  # pragma: no cover
    _quiet()
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    if memory_limit:
        import resource

        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    cache: dict[tuple, Any] = {}
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if job is None:
            return
        try:
            conn.send(_reply(job, cache))
        except OSError:  # BrokenPipeError: the parent died while we worked
            return


def _reply(job: Job | ListingJob, cache: dict[tuple, Any]) -> tuple:
    try:
        return ("ok", job.run(cache))
    except ExtractError as exc:
        return ("extract_error", exc.kind, str(exc))
    except MemoryError:
        return ("extract_error", "too_large", "extraction ran out of memory")
    except RecursionError:
        return ("extract_error", "no_article", "page nested too deeply")
    except Exception as exc:  # a parser bug must not end the run
        return ("extract_error", "extract_failed", f"{type(exc).__name__}: {exc}")


def _quiet() -> None:
    """Point the child's stdout and stderr at /dev/null. It reports only through its pipe;
    what else it could print (a traceback from multiprocessing's bootstrap when the parent
    vanished, a library's warning) would land in `ipnews extract`'s JSON or cron's mail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _die_with_parent(parent: int) -> None:
    """End this process when the parent dies, even in the middle of a page.

    Linux: the kernel sends SIGKILL (PR_SET_PDEATHSIG). Strictly, it does when the parent
    *thread* that started us ends; an Extractor is started and used on one thread.
    Elsewhere a thread polls os.getppid(), which runs as soon as the parser releases the GIL.
    """
    if not (sys.platform.startswith("linux") and _prctl_pdeathsig()):
        _watch_parent(parent)
    if os.getppid() != parent:  # it died before we asked
        os._exit(0)


def _prctl_pdeathsig() -> bool:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int, every: float = 0.5) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="ipnews-orphan-watch", daemon=True).start()


# --- the parent's side ---------------------------------------------------------------------
class Extractor:
    """A child process that extracts pages one at a time.

    An article may be submitted and collected later (the caller fetches the next page
    meanwhile); anything else (another submit, a listing) waits until it is collected, or
    the replies would be paired with the wrong pages, and a page is collected once (a second
    collect would wait out the timeout for nothing): both are refused with RuntimeError.

    As with the Client, two limits come from the caller: ``stop`` (set by a signal
    handler) abandons the page being read within STOP_POLL, and ``cutoff`` (a
    time.monotonic() instant, the run's time budget) ends the wait there. Both kill the
    child and raise ExtractError, of kind "interrupted" or "time_budget" as the Client's
    FetchError does, so that neither counts as the page's failure.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, max_tasks: int = MAX_TASKS,
                 memory_limit: int = MEMORY_LIMIT, stop: threading.Event | None = None
                 ) -> None:
        self.timeout = timeout
        self.max_tasks = max_tasks
        self.memory_limit = memory_limit
        self.stop = stop
        # spawn, not fork: the parent may have threads (fork would copy their locks).
        self._ctx = mp.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None
        self._tasks = 0
        self._sent = False
        self._outstanding = False  # a task was handed over and its reply not read yet

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_child,
                                       args=(child, self.memory_limit, os.getpid()),
                                       daemon=True, name="ipnews-extract")
        self._proc.start()
        child.close()
        self._conn = parent
        self._tasks = 0

    def _stop(self, kill: bool = False) -> None:
        self._outstanding = False
        if self._proc is None:
            return
        try:
            if not kill and self._conn is not None:
                self._conn.send(None)
                self._proc.join(2)
        except (OSError, EOFError):
            pass
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(2)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def _send(self, task: Job | ListingJob) -> None:
        if self._outstanding:
            raise RuntimeError("the extractor's previous page was not collected")
        if self._proc is None or self._tasks >= self.max_tasks or not self._proc.is_alive():
            self._stop()
            self._start()
        assert self._conn is not None
        self._tasks += 1
        self._outstanding = True
        try:
            self._conn.send(task)
            self._sent = True
        except OSError:
            self._sent = False

    def _receive(self, cutoff: float | None = None) -> Any:
        if not self._outstanding:
            raise RuntimeError("no page was handed to the extractor")
        self._outstanding = False
        try:
            if not self._sent or self._conn is None:
                raise EOFError
            reply = self._wait(self._conn, cutoff)
        except (EOFError, OSError):
            self._stop(kill=True)
            raise ExtractError("the extractor process died on this page",
                               "extract_crashed") from None
        except BaseException:  # a signal handler's Interrupted, KeyboardInterrupt
            self._stop(kill=True)  # or its late reply would be taken for the next page's
            raise
        if reply[0] == "ok":
            return reply[1]
        raise ExtractError(reply[2], reply[1])

    def _wait(self, conn: Connection, cutoff: float | None) -> tuple:
        """The child's reply, unless the page's time, the run's budget or a stop request
        comes first: the child is then killed, as the page could keep it busy for good."""
        timeout_at = time.monotonic() + self.timeout
        until = timeout_at if cutoff is None else min(timeout_at, cutoff)
        while True:
            left = until - time.monotonic()
            # Sliced so that a stop is seen; a reply is taken as soon as it comes.
            if conn.poll(max(0.0, min(left, STOP_POLL))):
                return conn.recv()
            if self.stop is not None and self.stop.is_set():
                error = ExtractError("interrupted", "interrupted")
            elif left > 0:
                continue
            elif until == timeout_at:
                error = ExtractError(f"extraction took longer than {self.timeout:g} s",
                                     "extract_timeout")
            else:
                error = ExtractError("time budget reached while the page was read",
                                     "time_budget")
            self._stop(kill=True)
            raise error

    def submit(self, job: Job) -> None:
        """Hand a page to the child and return at once: the caller fetches the next page
        while this one is extracted on the other core. Collect it before the next submit."""
        self._send(job)

    def collect(self, cutoff: float | None = None) -> Extracted:
        return self._receive(cutoff)

    def extract(self, job: Job) -> Extracted:
        self.submit(job)
        return self.collect()

    def listing(self, source: Source, body: bytes, content_type: str | None, url: str,
                cutoff: float | None = None, kind: str = "listing") -> ListingPage:
        """Decode and parse a listing page (or a feed, a sitemap: kind) in the child,
        under the same timeout and memory limit as an article; what the source learns from
        it comes back to `source`."""
        self._send(_listing_job(source, body, content_type, url, kind))
        listed: Listed = self._receive(cutoff)
        source.listing_memory = listed.memory
        return listed.page

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcess:
    """The same interface, extracting in this process: for tools and tests. Nothing here
    can be cut short, so cutoff is accepted and ignored."""

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __init__(self) -> None:
        self._cache: dict[tuple, Any] = {}
        self._job: Job | None = None

    def submit(self, job: Job) -> None:
        if self._job is not None:
            raise RuntimeError("the previous page was not collected")
        self._job = job

    def collect(self, cutoff: float | None = None) -> Extracted:
        job, self._job = self._job, None
        if job is None:
            raise RuntimeError("no page was submitted")
        return job.run(self._cache)

    def extract(self, job: Job) -> Extracted:
        return job.run(self._cache)

    def listing(self, source: Source, body: bytes, content_type: str | None, url: str,
                cutoff: float | None = None, kind: str = "listing") -> ListingPage:
        if self._job is not None:
            raise RuntimeError("the previous page was not collected")
        listed = _listing_job(source, body, content_type, url, kind).run(self._cache)
        source.listing_memory = listed.memory
        return listed.page

    def close(self) -> None:
        pass
