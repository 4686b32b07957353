"""A fetch without the network: pages answered from stored captures or from a WARC.

`ipnews fetch --offline` and `--replay FILE.warc.gz` run the whole pipeline (listings,
articles, further pages, the relevance filter, dedup) with a ReplayClient in place of the
HTTP client: the way to demo a source, to test a parser change end to end, and to debug a
run after the fact. `ipnews import` uses one for the further pages of a story.

A page that was never captured fails as "not_captured", a passing reason: a later live
run asks for it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ipnews.client import HTML_TYPES, Page
from ipnews.errors import FetchError, PermanentError, TransientError
from ipnews.store import Archive, Capture
from ipnews.warc import Response, Tally, open_input, read_record, responses

Lookup = Callable[[str], Page | None]


class ReplayClient:
    """Client.get's contract over a lookup: statuses, media types and validators as the
    live client treats them, no politeness delays, no robots.txt, no network."""

    historical = True  # what it serves was captured earlier: stored with its own time

    def __init__(self, lookup: Lookup, what: str, stop: threading.Event | None = None,
                 on_close: Callable[[], None] | None = None) -> None:
        self.lookup, self.what = lookup, what
        self.stop = stop or threading.Event()
        self.requests = 0
        self._on_close = on_close

    def __enter__(self) -> ReplayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()

    def get(self, url: str, *, headers: dict[str, str] | None = None,
            allowed_hosts: frozenset[str] | None = None,
            accept: tuple[str, ...] | None = HTML_TYPES, cutoff: float | None = None) -> Page:
        if self.stop.is_set():
            raise FetchError("interrupted", "interrupted", url=url)
        self.requests += 1
        page = self.lookup(url)
        if page is None:
            raise TransientError(f"not captured in {self.what}", "not_captured", url=url)
        status = page.status
        if status >= 400:
            kind = {404: "not_found", 410: "gone", 403: "forbidden"}.get(status,
                                                                       f"http_{status}")
            raise PermanentError(f"HTTP {status} (as captured)", kind, url=url, status=status)
        # No 304 for validators: they come from these very captures, and a replay (say
        # --offline --refresh after a parser change) is there to read the page again.
        mime = page.content_type.split(";")[0].strip().lower()
        if accept is not None and mime not in accept:
            raise PermanentError(f"unsupported type {mime[:80]!r}", "not_html", url=url)
        return page


def capture_page(url: str, capture: Capture, origin: dict[str, Any] | None = None) -> Page:
    exchange = capture.exchange or {}
    return Page(url, capture.final_url or url, capture.status or 200, capture.headers,
                capture.body, capture.fetched_at, list(exchange.get("redirects") or ()),
                exchange=capture.exchange, origin=origin or capture.origin)


def archive_lookup(archive: Archive) -> Lookup:
    """Pages from the archive's own captures, found by the address asked or canonical."""
    def lookup(url: str) -> Page | None:
        capture = archive.latest_capture(url, asked=True)
        return None if capture is None else capture_page(url, capture)
    return lookup


def response_page(url: str, response: Response, origin: dict[str, Any]) -> Page:
    exchange = {"request_headers": response.request_headers,
                "http_version": response.http_version, "reason": response.reason}
    return Page(url, response.url, response.status, response.headers, response.body,
                response.fetched_at, [], exchange=exchange, origin=origin)


class WarcIndex:
    """Where each URL's last response sits in a WARC (one pass, offsets only in memory),
    and a reader per thread: a fetch reads several hosts at once."""

    def __init__(self, path: Path, cap: int, stop: Callable[[], bool] | None = None) -> None:
        self.path, self.cap = path, cap
        self.offsets: dict[str, int] = {}
        self.tally = Tally()
        with open_input(path) as fh:
            for response in responses(fh, self.tally, cap, path.name, stop):
                self.offsets[response.url] = response.offset
                canonical = response.meta.get("ipnews-canonical-url")
                if canonical:
                    self.offsets[canonical] = response.offset

    def client(self, stop: threading.Event | None = None) -> ReplayClient:
        fh: IO[bytes] = open_input(self.path)

        def lookup(url: str) -> Page | None:
            offset = self.offsets.get(url)
            if offset is None:
                return None
            response = read_record(fh, offset, self.cap)
            if response is None or response.too_large:
                return None
            return response_page(url, response, {"warc": str(self.path),
                                                 "record": response.record_id,
                                                 "offset": response.offset})
        return ReplayClient(lookup, self.path.name, stop, on_close=fh.close)
