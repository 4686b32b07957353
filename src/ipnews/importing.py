"""`ipnews import`: WARC files made by anyone (wget, browsertrix-crawler, Common Crawl's
CC-NEWS, ipnews itself) read into the archive by the rules of a live fetch.

Each HTML response whose URL belongs to a configured source goes through that source's
parser in the extractor process, the relevance filter, the quality gate and Archive.save,
one transaction per article, exactly as Fetcher._finish does for a fetched page (it is
that method). The capture keeps the WARC's time (WARC-Date) and names its record, so a
file's pages take their place in each story's history by when they were captured: files
may be imported in any order, and the same file twice adds nothing.

Records are read one at a time: memory does not grow with the file. A story's further
pages (China Daily splits long ones) are looked for in the archive, then a little ahead
in the file.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ipnews.client import HTML_TYPES, Page
from ipnews.errors import Interrupted, StorageError
from ipnews.pipeline import Fetcher, Options, Report
from ipnews.replay import ReplayClient, archive_lookup, response_page
from ipnews.sources.base import ListingItem, Source
from ipnews.store import PERMANENT, Archive
from ipnews.warc import Response, Tally, open_input, read_record, responses
from ipnews.worker import Extractor, InProcess, Job

LOOK_AHEAD = 64  # records searched past a story's first page for its further pages
LISTING_FIELDS = ("title", "published_at", "authors", "section", "summary")


@dataclass
class FileResult:
    """What one WARC file gave."""

    path: Path
    tally: Tally = field(default_factory=Tally)
    ours: int = 0  # HTML responses of configured sources
    others: int = 0  # responses of other sites, or not pages (images, feeds...)
    listings: int = 0  # listing pages an ipnews WARC carries for replay
    not_ok: int = 0  # 3xx, 4xx, 5xx responses of configured sources
    known: int = 0  # the same bytes stored already, or judged for good before
    error: str | None = None  # the file could not be read at all
    reports: dict[str, Report] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("new", "updated", "unchanged", "duplicate", "skipped", "failed"),
                            0)
        for report in self.reports.values():
            for key in out:
                out[key] += getattr(report, key)
            # A story whose further page is in neither the file nor the archive: not
            # stored, and a later import or fetch tries it again.
            out["failed"] += report.uncaptured
        out["unchanged"] += self.known
        return out

    @property
    def partial(self) -> bool:
        return bool(self.error or self.tally.problems or self.counts()["failed"])

    def summary(self) -> str:
        if self.error:
            return f"{self.path.name}: FAILED, {self.error}"
        c = self.counts()
        line = (f"{self.path.name}: {self.tally.records:,} records, {self.tally.responses:,} "
                f"responses, {self.ours:,} pages of configured sources: {c['new']} new, "
                f"{c['updated']} updated, {c['unchanged']} unchanged, {c['duplicate']} "
                f"duplicate, {c['skipped']} skipped (not about IP), {c['failed']} failed")
        if self.tally.problems:
            n = len(self.tally.problems)
            line += f"; {n} unreadable record{'s' * (n > 1)} skipped"
        lacking = sum(r.uncaptured for r in self.reports.values())
        if lacking:
            line += (f"; {lacking} stor{'ies' if lacking > 1 else 'y'} lacked a further page "
                     "(in neither the file nor the archive: tried again by a later run)")
        return line


class _Owners:
    """Which configured source a URL belongs to, by host first (a CC-NEWS file holds
    thousands of hosts, nearly all of them no source's)."""

    def __init__(self, sources: list[Source]) -> None:
        self.by_name = {s.name: s for s in sources}
        self.by_host: dict[str, list[Source]] = {}
        for source in sources:
            mirror = (urlsplit(source.base_url).hostname or "").lower()
            for host in {*source.hosts, mirror} - {""}:
                self.by_host.setdefault(host, []).append(source)

    def may_own(self, url: str) -> bool:
        try:
            return (urlsplit(url).hostname or "").lower() in self.by_host
        except ValueError:  # "http://[::1/x": a page of no source, not a broken record
            return False

    def owner(self, response: Response) -> tuple[Source, str] | None:
        host = (urlsplit(response.url).hostname or "").lower()
        named = self.by_name.get(response.meta.get("ipnews-source", ""))
        canonical = response.meta.get("ipnews-canonical-url")
        # An ipnews WARC names the story's canonical URL (the page may have come from a
        # mirror, or by a redirect); believed only for a page on that source's own hosts.
        if named is not None and canonical and named.is_article_url(canonical) \
                and named in self.by_host.get(host, ()):
            return named, canonical
        for source in self.by_host.get(host, ()):
            canonical = source.canonical(source.from_mirror(response.url))
            if source.is_article_url(canonical):
                return source, canonical
        return None


class _Ahead:
    """A story's further pages: in this file first (where the crawl put them: among the
    pages of its sources already passed, or in the next records), then in the archive.
    Only the offsets of configured sources' pages are remembered: memory stays small."""

    def __init__(self, archive: Archive, path: Path, cap: int) -> None:
        self.stored = archive_lookup(archive)
        self.path, self.cap = path, cap
        self.fh = open_input(path)
        self.offset = 0  # the record being imported
        self.passed: dict[str, int] = {}  # URL -> offset, of configured sources' pages

    def lookup(self, url: str) -> Page | None:
        if url in self.passed:
            found = read_record(self.fh, self.passed[url], self.cap)
            if found is not None and not found.too_large:
                return response_page(url, found, _origin(self.path, found))
        self.fh.seek(self.offset)
        for i, response in enumerate(responses(self.fh, Tally(), self.cap)):
            if i > LOOK_AHEAD:
                break
            if url in (response.url, response.meta.get("ipnews-canonical-url")) \
                    and not response.too_large:
                return response_page(url, response, _origin(self.path, response))
        return self.stored(url)

    def close(self) -> None:
        self.fh.close()


def _origin(path: Path, response: Response) -> dict[str, Any]:
    return {"warc": str(path), "record": response.record_id, "offset": response.offset}


def _listing_item(url: str, meta: dict[str, str]) -> ListingItem:
    """What the listing said of the story, when an ipnews WARC's metadata carries it."""
    import json

    item = ListingItem(url=url, title=meta.get("ipnews-listing-title") or None)
    try:
        fields = json.loads(meta.get("ipnews-listing") or "{}")
    except ValueError:
        fields = {}
    if isinstance(fields, dict):
        for name in LISTING_FIELDS:
            value = fields.get(name)
            if name == "authors" and isinstance(value, list):
                item.authors = [str(v) for v in value]
            elif isinstance(value, str) and name != "title":
                setattr(item, name, value)
        item.origin = str(fields.get("origin") or "listing")
        if isinstance(fields.get("title"), str):
            item.title = fields["title"]
    return item


def import_file(archive: Archive, sources: list[Source], path: Path, *, cap: int,
                extractor: Extractor | InProcess, stop: threading.Event,
                progress: Callable[[str], None] | None = None) -> FileResult:
    """Import one WARC file. Storage errors and interrupts propagate (between two
    articles); everything else is counted in the result."""
    result = FileResult(path)
    say = progress or (lambda _msg: None)
    try:
        fh = open_input(path)
    except (OSError, StorageError) as exc:  # a file missing, a directory, a FIFO
        result.error = str(exc)
        return result
    try:
        ahead = _Ahead(archive, path, cap)
    except (OSError, StorageError) as exc:
        fh.close()
        result.error = str(exc)
        return result
    owners = _Owners(sources)
    client = ReplayClient(ahead.lookup, path.name, stop)
    fetcher = Fetcher(archive, client, Options(), stop=stop, extractor=extractor)  # type: ignore[arg-type]
    runs: dict[str, int] = {}
    # Progress in bytes of the file itself (a whole-file gzip is read through GzipFile,
    # whose offsets are not the file's: its progress is in records only).
    size = 0 if isinstance(fh, gzip.GzipFile) else max(1, path.stat().st_size)
    pending: tuple[Source, ListingItem, Page] | None = None

    def finish(done: tuple[Source, ListingItem, Page]) -> None:
        # A WARC's metadata may name a story's other addresses (an ipnews export does),
        # but a file is not trusted to say which URLs never to read: they are not linked.
        source, item, page = done
        fetcher._finish(source, item, page, result.reports[source.name], runs[source.name])

    try:
        for response in responses(fh, result.tally, cap, path.name, stop.is_set,
                                  owners.may_own):
            if stop.is_set():
                raise Interrupted(getattr(stop, "signum", 2))
            if result.tally.records % 500 == 0:
                done = f"{result.tally.bytes_read * 100 // size}%, " if size else ""
                say(f"{path.name}: {done}{result.tally.records:,} records")
            if response.meta.get("ipnews-document"):
                result.listings += 1
                continue
            if response.read:  # a page of a configured source's host: perhaps a further page
                ahead.passed[response.url] = response.offset
            owned = owners.owner(response) if response.read else None
            mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if owned is None or mime not in HTML_TYPES:
                result.others += 1
                continue
            source, canonical = owned
            result.ours += 1
            ahead.passed[canonical] = response.offset
            if response.status != 200:
                result.not_ok += 1
                continue
            if source.name not in runs:
                runs[source.name] = archive.start_run(source.name, origin=f"import {path}")
                result.reports[source.name] = Report(source.name)
            report = result.reports[source.name]
            if response.too_large:
                report.failed += 1
                report.errors.append(f"{canonical}: too large (more than {cap:,} bytes)")
                continue
            sha = hashlib.sha256(response.body).hexdigest()
            status = archive.known_urls([canonical]).get(canonical)
            if status in PERMANENT or archive.has_capture(canonical, sha, response.fetched_at):
                result.known += 1
                continue
            page = response_page(source.request_url(canonical), response,
                                 _origin(path, response))
            item = _listing_item(canonical, response.meta)
            # The extractor takes one page at a time: the last one is saved first (while
            # it was parsed, this process read the next record).
            if pending is not None:
                done, pending = pending, None
                finish(done)
            ahead.offset = response.offset
            extractor.submit(Job(source.name, source.base_url, source.settings, page.body,
                                 page.content_type, canonical, keep_raw=archive.keep_raw,
                                 ip_only=source.ip_only))
            pending = (source, item, page)
        if pending is not None:
            done, pending = pending, None
            finish(done)
        if stop.is_set():  # the reader stopped early: this file is not done
            raise Interrupted(getattr(stop, "signum", 2))
    finally:
        if pending is not None:  # interrupted: the extraction submitted is collected
            with contextlib.suppress(StorageError, Interrupted):
                finish(pending)
        ahead.close()
        fh.close()
        for name, run_id in runs.items():
            report = result.reports[name]
            with contextlib.suppress(StorageError):  # the cause is already on its way up
                archive.finish_run(
                    run_id, status=report.status, new=report.new, updated=report.updated,
                    unchanged=report.unchanged, duplicate=report.duplicate,
                    skipped=report.skipped, failed=report.failed, errors=report.errors,
                    requests=client.requests)
    return result

