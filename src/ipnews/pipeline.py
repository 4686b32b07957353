"""One fetch run: discover -> skip known -> fetch -> extract -> filter -> save -> report.

A failing page or source is recorded and the run goes on; only a storage failure (disk
full, corrupt file) or an interrupt stops it, and then between two articles, never inside
one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ipnews.article import Article
from ipnews.client import HTML_TYPES, Client, Page
from ipnews.decoding import DECODER_VERSION
from ipnews.errors import ExtractError, FetchError, Interrupted, StorageError
from ipnews.extraction import check_quality
from ipnews.health import ALARMS, OK, Metrics, judge
from ipnews.relevance import is_ip_related, story_texts
from ipnews.sources.base import ListingItem, Source
from ipnews.store import PERMANENT, Archive, Capture, Saved
from ipnews.worker import Extractor, InProcess, Job

log = logging.getLogger("ipnews")

DEFAULT_MAX_PAGES = 10  # listing pages per section in a normal run; --full lifts it
FULL_MAX_PAGES = 10_000
MAX_SITEMAP_DEPTH = 3  # an index of indexes of sitemaps; deeper nesting is a trap
MAX_STORY_PAGES = 10  # further pages of one story (China Daily splits the longest in 3-5)
HOSTS_AT_ONCE = 8  # hosts read at the same time (fetch.hosts_at_once)
REPLACEMENT_FLAG_THRESHOLD = 5
# Kinds of failure that will not get better by asking again tomorrow: remember the URL.
REMEMBER = frozenset({"not_found", "gone", "no_article", "not_html", "too_large", "robots",
                      "bad_url", "ssrf_refused", "offsite_redirect", "bad_redirect"})


@dataclass
class Report:
    source: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    skipped: int = 0
    failed: int = 0
    uncaptured: int = 0  # a replay: pages asked for that no capture holds (not a failure)
    listing_pages: int = 0
    requests: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)
    skipped_stories: list[tuple[str, str]] = field(default_factory=list)
    fatal: str | None = None  # the source could not be read at all
    duration_s: float = 0.0
    metrics: Metrics = field(default_factory=Metrics)
    health: str = OK
    health_note: str | None = None

    @property
    def status(self) -> str:
        if self.fatal:
            return "failed"
        return "partial" if self.failed or self.errors else "ok"

    @property
    def alarm(self) -> str | None:
        """One line for the person who must fix the parser, when the source looks broken."""
        if self.health not in ALARMS:
            return None
        return f"ALARM {self.source} looks {self.health}: {self.health_note} (has the site " \
               "changed? see `ipnews sources`)"

    def summary(self) -> str:
        if self.fatal:
            return f"{self.source}: FAILED, the source could not be read"
        parts = (f"{self.new} new, {self.updated} updated, {self.duplicate} duplicate, "
                 f"{self.skipped} skipped, {self.failed} failed")
        line = f"{self.source}: {parts}"
        if self.uncaptured:
            line += f", {self.uncaptured} not captured"
        if self.errors and not self.failed:
            line += f", {len(self.errors)} listing error{'s' * (len(self.errors) > 1)}"
        if self.stopped:
            line += f" (stopped: {self.stopped})"
        return line


class Stop(threading.Event):
    """Set by a signal handler to stop a run between two articles; remembers which."""

    signum: int = 2


# Stories skipped as "not about IP" by an older decoder or term list, judged again per
# source and run: enough to work through a backlog in a few nights without a slow run.
RECHECK_PER_RUN = 100


@dataclass
class Options:
    full: bool = False
    refresh: bool = False
    max_pages: int | None = None  # documents per discovery start (listing pages, sitemaps)
    time_budget: float | None = None  # seconds per source
    stale_after: float | None = 30.0  # days: a feed or sitemap whose newest item is older
    origin: str | None = None  # what the run reads, when not the network (runs.origin)


class Runner:
    """A fetch over many sources: sources on different hosts at once, one thread per host
    (each with its own client and extractor process, so one request in flight per host
    and its own delay, robots.txt and Retry-After), one writer at a time (the archive's
    lock), every article still its own transaction. A run takes about as long as its
    slowest host, not the sum of all of them."""

    def __init__(self, archive: Archive, options: Options, stop: threading.Event,
                 client_for: Callable[[], Client],
                 extractor_for: Callable[[], Extractor | InProcess],
                 progress: Callable[[str], None] | None = None,
                 hosts_at_once: int = HOSTS_AT_ONCE) -> None:
        self.archive, self.options, self.stop = archive, options, stop
        self.client_for, self.extractor_for, self.progress = client_for, extractor_for, progress
        self.saved = 0  # articles new or updated, all sources so far
        self._lock = threading.Lock()
        # Each host costs a thread and an extractor process (~45 MB): a config with fifty
        # sites must not start fifty of them on a small machine.
        self._slots = threading.BoundedSemaphore(max(1, hosts_at_once))

    def run(self, sources: list[Source]) -> list[Report]:
        groups: dict[str, list[Source]] = {}
        for source in sources:
            groups.setdefault(urlsplit(source.base_url).netloc.lower(), []).append(source)
        reports: dict[str, Report] = {}
        failures: list[BaseException] = []
        if len(groups) == 1:
            self._host(next(iter(groups.values())), reports)
        else:
            threads = [threading.Thread(target=self._guarded, args=(group, reports, failures),
                                        name=f"ipnews-{host}", daemon=True)
                       for host, group in groups.items()]
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():  # a timeout, so that signals reach their handler
                    thread.join(0.2)
        failures.sort(key=lambda exc: isinstance(exc, Interrupted))  # the real cause first
        if failures:
            raise failures[0]
        if self.stop.is_set():  # a signal during the last request must not end as "ok"
            raise Interrupted(getattr(self.stop, "signum", 2))
        return [reports[s.name] for s in sources]

    def _guarded(self, group: list[Source], reports: dict[str, Report],
                 failures: list[BaseException]) -> None:
        try:
            with self._slots:
                self._host(group, reports)
        except BaseException as exc:
            failures.append(exc)
            self.stop.set()  # the other hosts stop too, between two articles

    def _host(self, group: list[Source], reports: dict[str, Report]) -> None:
        with self.client_for() as client, self.extractor_for() as extractor:
            fetcher = Fetcher(self.archive, client, self.options, stop=self.stop,
                              progress=self.progress, extractor=extractor)
            try:
                for source in group:
                    reports[source.name] = fetcher.run_source(source)
            finally:
                with self._lock:
                    self.saved += fetcher.saved


class Fetcher:
    """Runs sources against one archive with one client."""

    def __init__(self, archive: Archive, client: Client, options: Options,
                 stop: threading.Event | None = None,
                 progress: Callable[[str], None] | None = None,
                 extractor: Extractor | None = None) -> None:
        self.archive = archive
        self.client = client
        self.extractor: Extractor | InProcess = extractor or InProcess()
        self.options = options
        self.stop = stop or client.stop
        self.progress = progress or (lambda _msg: None)
        self._pending: set[str] = set()  # see _discover_and_fetch
        # Every URL asked for in this run: a listing with 1,000 cards for one story (or
        # the same story in two sections) costs one request, not 1,000.
        self._asked: set[str] = set()
        self._budget_end: float | None = None
        self.saved = 0  # articles new or updated in this run, all sources
        # Pages captured earlier (a replay, an import) are stored with their own time.
        self.historical = bool(getattr(client, "historical", False))
        archive.checked_with = filter_stamp()

    @property
    def signal(self) -> int:
        return getattr(self.stop, "signum", 2)

    def run_source(self, source: Source) -> Report:
        self.check_stop()  # a signal between two sources starts no new run
        report = Report(source.name)
        started = time.monotonic()
        budget = self.options.time_budget
        self._budget_end = started + budget if budget else None
        requests_before = self.client.requests
        run_id = self.archive.start_run(source.name, self.options.origin)
        status = None
        try:
            self._discover_and_fetch(source, report, run_id)
        except Interrupted:
            report.stopped = status = "interrupted"
            raise
        except BaseException as exc:
            status = "crashed"
            report.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            report.duration_s = round(time.monotonic() - started, 3)
            report.requests = self.client.requests - requests_before
            status = status or report.status
            if status in ("ok", "partial"):
                report.health, report.health_note = judge(
                    report.metrics, self.archive.earlier_metrics(source.name))
            try:
                self.archive.finish_run(
                    run_id, duration_s=report.duration_s, status=status,
                    listing_pages=report.listing_pages, requests=report.requests,
                    new=report.new, updated=report.updated, unchanged=report.unchanged,
                    duplicate=report.duplicate, skipped=report.skipped, failed=report.failed,
                    stopped=report.stopped, errors=report.errors, health=report.health,
                    health_note=report.health_note, metrics=report.metrics.as_dict())
            except StorageError:
                log.debug("could not record the end of run %s", run_id, exc_info=True)
        return report

    # -- discovery --
    def _allowed_hosts(self, source: Source) -> frozenset[str]:
        mirror = (urlsplit(source.base_url).hostname or "").lower()
        return frozenset(source.hosts | {mirror})

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise Interrupted(self.signal)

    def _out_of_time(self, report: Report) -> bool:
        """Checked before every request, not only between listing pages."""
        if self._budget_end is not None and time.monotonic() > self._budget_end:
            report.stopped = "time budget"
            return True
        return False

    def _discover_and_fetch(self, source: Source, report: Report, run_id: int) -> None:
        opts = self.options
        limit = opts.max_pages or (FULL_MAX_PAGES if opts.full else DEFAULT_MAX_PAGES)
        allowed = self._allowed_hosts(source)
        # Stories that failed for a passing reason (a 500, a timeout) in an earlier run:
        # keep reading listing pages until each has been seen again, even past pages whose
        # other stories are all known, or a failure on page 2 would never be retried.
        self._pending = self.archive.pending_urls(source.name, settled=REMEMBER | set(PERMANENT))
        for kind, start in source.discovery():
            if not self._read_documents(source, kind, start, limit, report, run_id, allowed):
                return  # out of time
        if report.listing_pages == 0 and report.errors:
            report.fatal = report.errors[0]  # not one listing page of any section was read
            return
        if source.ip_only and not self._out_of_time(report):
            stale = self.archive.stale_skips(source.name, RECHECK_PER_RUN)
            if stale:
                self._process_listing(source, [ListingItem(u) for u in stale], report, run_id,
                                      allowed)
        self.check_stop()  # a signal during the last request must not end as "ok"

    def _read_documents(self, source: Source, kind: str, start: str, limit: int,
                        report: Report, run_id: int, allowed: frozenset[str]) -> bool:
        """Read a listing and its next pages, a feed, or a sitemap and the sitemaps an index
        names, fetching what they list that we lack; False when the time budget ran out.

        Listings are read newest first until a page holds nothing new (and every pending
        story has been met again); a document unchanged since the last run (a 304 to our
        validators) is nothing new at the cost of one request."""
        opts = self.options
        queue: list[tuple[str, int]] = [(start, 0)]
        seen: set[str] = set()
        while queue:
            url, depth = queue.pop(0)
            self.check_stop()
            if len(seen) >= limit:
                report.stopped = "page limit"
                return True
            if self._out_of_time(report):
                return False
            seen.add(url)
            self.progress(f"{source.name}: {kind} {url}")
            # Validators only where a 304 cannot hide something owed: with stories pending
            # from an earlier run, or with --full/--refresh, every page is read.
            cheap = not (self._pending or opts.full or opts.refresh)
            try:
                page = self.client.get(
                    source.request_url(url), allowed_hosts=allowed, cutoff=self._budget_end,
                    headers=self.archive.document_headers(url) if cheap else None,
                    accept=None if kind != "listing" else HTML_TYPES + source.listing_types)
                report.listing_pages += 1
                if page.status == 304:
                    report.stopped = report.stopped or "up to date"
                    return True
                if kind == "sitemap" and urlsplit(url).path == "/robots.txt":
                    # "sitemap = .../robots.txt": the sitemaps its Sitemap: lines name.
                    queue.extend((u, depth + 1) for u in robots_sitemaps(page.body, url)
                                 if u not in seen)
                    continue
                listing = self.extractor.listing(source, page.body, page.content_type, url,
                                                 cutoff=self._budget_end, kind=kind)
            except (FetchError, ExtractError) as exc:
                if _kind(exc) == "interrupted":
                    raise Interrupted(self.signal) from exc
                if _kind(exc) == "time_budget":
                    report.stopped = "time budget"  # not the document's failure
                    return False
                if _is_end_of_pagination(exc, len(seen)):
                    return True
                if _kind(exc) == "not_captured":  # a replay: the last run read no further
                    report.uncaptured += 1
                    return True
                message = f"{kind} {_asked_at(source, url)}: {exc}"
                self.archive.record(run_id, source.name, url, _kind(exc), str(exc))
                report.errors.append(message)
                log.info("%s: %s", source.name, message)
                return True
            self.archive.remember_document(url, source.name, kind, page.headers,
                                           len(listing.items), listing.newest,
                                           _capture(url, page), run_id)
            report.metrics.documents += 1
            report.metrics.cards += len(listing.items)
            if kind != "listing" and opts.stale_after and _stale(listing.newest,
                                                                 opts.stale_after):
                stale = (f"{kind} {_asked_at(source, url)} is stale: its newest item is from "
                         f"{(listing.newest or '')[:10]}, more than {opts.stale_after:g} "
                         "days ago")
                report.metrics.stale = report.metrics.stale or stale
                report.errors.append(stale)
            fresh = self._process_listing(source, listing.items, report, run_id, allowed)
            self._pending -= {i.url for i in listing.items}
            # A page that names further documents (Xinhua's hub names its JSON list) is
            # not where the news ends, even when all it shows itself is known.
            if listing.items and not fresh and not self._pending and not opts.full \
                    and not opts.refresh and not listing.more:
                report.stopped = report.stopped or "up to date"
                return True
            if listing.next_url and listing.next_url not in seen and listing.items:
                queue.append((listing.next_url, depth))
            if depth < MAX_SITEMAP_DEPTH:
                queue.extend((u, depth + 1) for u in listing.more if u not in seen)
        return True

    def _process_listing(self, source: Source, items: list[ListingItem], report: Report,
                         run_id: int, allowed: frozenset[str]) -> int:
        """Fetch what the listing has that we lack; return how many were not known."""
        known = self.archive.known_urls([i.url for i in items])
        fresh = 0
        wanted: list[tuple[ListingItem, bool]] = []
        for item in items:
            status = known.get(item.url)
            if status is None:
                fresh += 1
            elif status == "canonical":
                stored = self.archive.stored_titles(item.url)
                edited = item.title is not None and bool(stored) and item.title not in stored
                if not (edited or self.options.refresh):
                    continue
                fresh += edited
            elif status == "skipped" and self.options.refresh:
                pass  # judged "not about IP" before: --refresh judges it again
            elif status in PERMANENT or status == "same_text":
                continue
            elif status in REMEMBER and not self.options.refresh:
                continue  # refused before: retried after a week, or now with --refresh
            else:
                fresh += 1  # failed for a passing reason last time: try again
            if item.url in self._asked:
                continue
            self._asked.add(item.url)
            wanted.append((item, status is not None))
        # Two cores: while the extractor process reads page i, this one downloads page i+1.
        pending: tuple[ListingItem, Page] | None = None
        try:
            for i, (item, refetch) in enumerate(wanted):
                self.check_stop()
                if self._out_of_time(report):
                    self._postpone(source, [it for it, _ in wanted[i:]], run_id)
                    break
                page = self._download(source, item, report, run_id, allowed, refetch)
                if pending is not None:
                    # Cleared first: if saving it fails, the finally below must not wait
                    # (extract_timeout) for an extraction that was already collected.
                    done, pending = pending, None
                    self._finish(source, *done, report, run_id)
                if page is not None:
                    self.extractor.submit(Job(
                        source.name, source.base_url, source.settings, page.body,
                        page.content_type, item.url, keep_raw=self.archive.keep_raw,
                        ip_only=source.ip_only))
                    pending = (item, page)
        finally:
            if pending is not None:
                self._finish(source, *pending, report, run_id)
        return fresh

    def _postpone(self, source: Source, items: list[ListingItem], run_id: int) -> None:
        """Stories the time budget left unread: kept as pending, so that the next run reads
        listing pages until it meets them again instead of stopping at the first page it
        knows."""
        for item in items:
            self.archive.record(run_id, source.name, item.url, "time_budget",
                                "postponed: the run's time budget ran out", remember=True)

    # -- one article --
    def _fail(self, source: Source, url: str, exc: FetchError | ExtractError, report: Report,
              run_id: int) -> None:
        if _kind(exc) == "interrupted":
            raise Interrupted(self.signal) from exc
        kind = _kind(exc)
        if kind == "not_captured":
            # A replay lacks this page (the run that made the captures skipped it, or it is
            # a copy whose text was stored under another URL): nothing is wrong with it,
            # and nothing is recorded that would change what a live run does.
            report.uncaptured += 1
            log.info("%s: not captured: %s", source.name, url)
            return
        report.failed += 1
        report.errors.append(f"{_asked_at(source, url)}: {exc}")
        log.info("%s: failed: %s: %s", source.name, _asked_at(source, url), exc)
        # Every failure is kept in url_status: refusals so as not to ask again too soon,
        # passing failures so that the next run knows to retry them.
        self.archive.record(run_id, source.name, url, kind, str(exc), remember=True)

    def _download(self, source: Source, item: ListingItem, report: Report, run_id: int,
                  allowed: frozenset[str], refetch: bool) -> Page | None:
        self.progress(f"{source.name}: {item.title or item.url}")
        try:
            headers = self.archive.conditional_headers(item.url) if refetch else {}
            page = self.client.get(source.request_url(item.url), headers=headers,
                                   allowed_hosts=allowed, cutoff=self._budget_end)
        except FetchError as exc:
            if exc.kind == "time_budget":  # the budget ran out mid-request: not a failure
                report.stopped = "time budget"
                self._postpone(source, [item], run_id)
                return None
            self._fail(source, item.url, exc, report, run_id)
            return None
        if page.status == 304:
            self.archive.touch(item.url)
            report.unchanged += 1
            return None
        return page

    def _finish(self, source: Source, item: ListingItem, page: Page, report: Report,
                run_id: int) -> Saved | None:
        """Collect the extraction of page, filter it, and save it in one transaction; what
        the archive made of it (None: failed or skipped)."""
        extra: list[Capture] = []
        try:
            extracted = self.extractor.collect(cutoff=self._budget_end)
            article, ip_related = extracted.article, extracted.ip_related
            if article.more_pages:
                article, extra = self._more_pages(source, article)
                if source.ip_only:
                    ip_related = is_ip_related(*story_texts(article))
            _merge_listing(article, item)
            _count(report.metrics, article)
            if extracted.replacements > REPLACEMENT_FLAG_THRESHOLD:
                article.flags.append(f"replacement_chars:{extracted.replacements}")
            check_quality(article)
        except (ExtractError, FetchError) as exc:
            if exc.kind == "time_budget":  # the budget ran out while the page was read
                report.stopped = "time budget"
                self._postpone(source, [item], run_id)
                return None
            self._fail(source, item.url, exc, report, run_id)
            return None
        if ip_related is False:
            report.skipped += 1
            report.skipped_stories.append((item.url, article.title))
            log.info("%s: skipped (not about IP): %s %s", source.name, article.title, item.url)
            self.archive.record(run_id, source.name, item.url, "skipped",
                                f"not about IP: {article.title}", remember=True)
            return None
        capture = _capture(item.url, page, extracted.encoding, extracted.zbody)
        saved = self.archive.save(article, capture, run_id, aliases=_aliases(source, page),
                                  listing_title=item.title, more=extra,
                                  analysis=extracted.analysis,
                                  seen_at=page.fetched_at if self.historical else None)
        setattr(report, saved.outcome, getattr(report, saved.outcome) + 1)
        if saved.outcome in ("new", "updated"):
            self.saved += 1
        if saved.outcome == "duplicate":
            self.archive.record(run_id, source.name, item.url, "duplicate",
                                f"same text as article {saved.article_id}")
        log.debug("%s: %s %s", source.name, saved.outcome, item.url)
        return saved

    def _more_pages(self, source: Source, article: Article) -> tuple[Article, list[Capture]]:
        """The story with the text of its further pages (China Daily's ..._2.html), and their
        captures. A page that cannot be read fails the whole story, which the next run tries
        again: never half a story stored."""
        pages: list[Article] = []
        captures: list[Capture] = []
        for url in article.more_pages[:MAX_STORY_PAGES]:
            if url == article.url:
                continue
            page = self.client.get(source.request_url(url), cutoff=self._budget_end,
                                   allowed_hosts=self._allowed_hosts(source))
            extracted = self.extractor.extract(Job(
                source.name, source.base_url, source.settings, page.body, page.content_type, url,
                keep_raw=self.archive.keep_raw))
            pages.append(extracted.article)
            captures.append(_capture(url, page, extracted.encoding, extracted.zbody))
        return source.join_pages(article, pages), captures


def _capture(url: str, page: Page, encoding: str | None = None,
             zbody: bytes | None = None) -> Capture:
    return Capture(url=url, final_url=page.final_url, status=page.status, headers=page.headers,
                   fetched_at=page.fetched_at, sha256=page.sha256, body=page.body,
                   encoding=encoding, zbody=zbody, exchange=page.exchange, origin=page.origin)


def extract_stored(source: Source, worker: Extractor | InProcess, capture: Capture,
                   stored: dict[str, Any],
                   capture_for: Callable[[str], Capture | None]) -> Article:
    """Today's parser on a stored page (reextract, verify): its further pages from their
    stored captures (capture_for), and the fields the listing gave, as stored."""
    article = worker.extract(Job(source.name, source.base_url, source.settings, capture.body,
                                 capture.headers.get("content-type"), stored["url"])).article
    if article.more_pages:
        pages = []
        for url in article.more_pages[:MAX_STORY_PAGES]:
            page = capture_for(url)
            if page is None:
                raise ExtractError(f"no intact raw capture of its page {url}",
                                   kind="no_capture")
            pages.append(worker.extract(Job(source.name, source.base_url, source.settings,
                                            page.body, page.headers.get("content-type"),
                                            url)).article)
        article = source.join_pages(article, pages)
    _merge_listing(article, ListingItem(url=stored["url"], published_at=stored["published_at"],
                                        authors=stored["authors"], section=stored["section"],
                                        summary=stored["summary"], origin="stored"))
    return article


def _kind(exc: Exception) -> str:
    return getattr(exc, "kind", "error")


def _count(metrics: Metrics, article: Article) -> None:
    metrics.pages += 1
    metrics.fallbacks += article.extraction == "trafilatura"
    metrics.no_date += not article.published_at
    metrics.no_authors += not article.authors


def _asked_at(source: Source, url: str) -> str:
    """A URL as errors name it: with a mirror configured, the address actually asked too,
    since that is where the fault is."""
    asked = source.request_url(url)
    return url if asked == url else f"{url} (asked at {asked})"


def robots_sitemaps(body: bytes, url: str, limit: int = 50) -> list[str]:
    """The URLs of a robots.txt's Sitemap: lines (RFC 9309 section 2.2.4), absolute."""
    from urllib.parse import urljoin

    found: list[str] = []
    for line in body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "sitemap" and value.strip():
            found.append(urljoin(url, value.split("#", 1)[0].strip()))
            if len(found) >= limit:
                break
    return list(dict.fromkeys(u for u in found if u.startswith(("http://", "https://"))))


def _stale(newest: str | None, days: float) -> bool:
    from ipnews.discovery import is_stale  # feeds and sitemaps only: no cost for listings

    return is_stale(newest, days)


def filter_stamp() -> str:
    """What judges a story "not about IP": the decoder's version and the term list."""
    from ipnews.relevance import TERMS_VERSION

    return f"decoder {DECODER_VERSION}, terms {TERMS_VERSION}"


def _is_end_of_pagination(exc: Exception, pages: int) -> bool:
    # A next page that does not exist is the end of the listing, not a failure.
    return pages > 1 and isinstance(exc, FetchError) and exc.kind in ("not_found", "gone")


def _merge_listing(article: Article, item: ListingItem) -> None:
    """Cards, feed items and sitemap entries know things article pages may not show (CTPLO
    posts often carry no date). A field taken from them is flagged with where it came
    from ("published_at:rss"), so a reader can tell a page's own date from a feed's."""
    for name in ("published_at", "authors", "section", "title", "summary"):
        given = getattr(item, name)
        have = getattr(article, name)
        if (name == "published_at" and given and have and len(have) == 10
                and given[:10] == have):
            have = None  # the page gives the day; the feed gives that day's time too
        if given and not have:
            setattr(article, name, list(given) if name == "authors" else given)
            article.flags.append(f"{name}:{item.origin}")


def _aliases(source: Source, page: Page) -> tuple[str, ...]:
    """Other addresses the story answered at (redirect hops and the final URL)."""
    out = []
    for hop in [*page.redirects, page.final_url]:
        canonical = source.canonical(source.from_mirror(hop))
        if source.is_article_url(canonical):
            out.append(canonical)
    return tuple(dict.fromkeys(out))


def reextract(archive: Archive, sources: dict[str, Source], extractor: Extractor | None = None,
              stop: threading.Event | None = None) -> Report:
    """Run today's parsers over the stored raw captures: fixed extractors fix old rows.
    A changed text becomes a new version, exactly as an edit on the site would. A signal
    (stop set) ends it between two articles."""
    report = Report("reextract")
    worker = extractor or InProcess()
    for stored, capture in archive.captured():
        if stop is not None and stop.is_set():
            raise Interrupted(getattr(stop, "signum", 2))
        source = sources.get(stored["source"])
        if source is None:
            continue
        if capture is None:
            report.failed += 1
            report.errors.append(f"{stored['url']}: raw capture damaged (see `ipnews check`)")
            continue
        try:
            article = extract_stored(source, worker, capture, stored, archive.latest_capture)
            check_quality(article)
        except ExtractError as exc:
            if exc.kind == "interrupted":
                raise Interrupted(getattr(stop, "signum", 2)) from exc
            report.failed += 1
            report.errors.append(f"{stored['url']}: {exc}")
            continue
        saved = archive.save(article, None)
        setattr(report, saved.outcome, getattr(report, saved.outcome) + 1)
    return report
