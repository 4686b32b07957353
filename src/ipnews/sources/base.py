"""What every source shares. A site's own file declares its addresses and selectors and
overrides a method only where the site has a real quirk."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ipnews.article import Article
from ipnews.errors import UsageError
from ipnews.urls import UrlRules, canonical_url, looks_like_trap, mirror_url


@dataclass
class ListingItem:
    """One card on a listing page. Cards often know what the article page does not."""

    url: str
    title: str | None = None
    published_at: str | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    summary: str | None = None


@dataclass
class ListingPage:
    items: list[ListingItem]
    next_url: str | None = None


class Source:
    """Base class. Subclasses set the class attributes and implement the three parsers."""

    name: ClassVar[str]
    title: ClassVar[str]
    home: ClassVar[str]  # canonical origin, e.g. "https://www.shine.cn"
    hosts: ClassVar[frozenset[str]]
    article_path: ClassVar[re.Pattern[str]]
    trailing_slash: ClassVar[bool | None] = None
    keep_query: ClassVar[frozenset[str]] = frozenset()
    language: ClassVar[str] = "en"
    # Only stories about intellectual property are kept (general-news sites).
    ip_only: ClassVar[bool] = False
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, base_url: str | None = None, **options: Any) -> None:
        unknown = set(options) - set(self.options)
        if unknown:
            raise UsageError(f"unknown option for source {self.name}: {', '.join(sorted(unknown))}")
        for key, value in options.items():
            default = self.options[key]
            if not isinstance(value, type(default)) or (
                    isinstance(default, list) and not all(isinstance(v, str) for v in value)):
                kind = "list of strings" if isinstance(default, list) else type(default).__name__
                raise UsageError(f"[sources.{self.name}] {key} must be a {kind}")
        self.settings = {**self.options, **options}
        self.base_url = (base_url or self.home).rstrip("/")
        if looks_like_trap(self.base_url):
            raise UsageError(f"[sources.{self.name}] base_url is not an http(s) URL: "
                             f"{self.base_url!r}")
        self.rules = UrlRules(self.home, self.hosts, self.trailing_slash, self.keep_query)
        # What parse_listing learned that later listing pages need (SHINE: each section's
        # record count and id). Listings are parsed in the extractor process, on a copy of
        # the source: the worker sends this along with each page and brings it back.
        self.listing_memory: dict[str, Any] = {}

    # --- addresses -------------------------------------------------------------------
    def canonical(self, href: str, page_url: str | None = None) -> str:
        """Canonical URL of a link found on one of our pages (page_url is canonical too)."""
        return canonical_url(href, self.rules, base=page_url or self.home + "/")

    def request_url(self, canonical: str) -> str:
        """Where to fetch a canonical URL: the site itself, or the configured mirror."""
        return mirror_url(canonical, self.base_url, self.rules)

    def from_mirror(self, url: str) -> str:
        """The site's own address for a URL on the configured mirror (others unchanged)."""
        base = urlsplit(self.base_url)
        parts = urlsplit(url)
        if self.base_url != self.home and parts.netloc == base.netloc:
            path = parts.path.removeprefix(base.path.rstrip("/"))
            return self.home + path + (f"?{parts.query}" if parts.query else "")
        return url

    def is_article_url(self, url: str) -> bool:
        if looks_like_trap(url) is not None:  # also refuses what urlsplit cannot parse
            return False
        parts = urlsplit(url)
        return self.rules.owns(parts.hostname or "") and bool(
            self.article_path.fullmatch(parts.path))

    # --- the parsers each site provides --------------------------------------------------
    def listing_urls(self) -> list[str]:
        """Canonical URLs of the first listing page of each part of the site we read."""
        raise NotImplementedError

    def parse_listing(self, html: str, url: str) -> ListingPage:
        raise NotImplementedError

    def extract(self, html: str, url: str) -> Article:
        raise NotImplementedError
