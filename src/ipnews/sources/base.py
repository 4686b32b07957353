"""What every source shares: the description of a site as data, and the readers that
follow it. A site's own file (or a [sources.NAME] table of the config file) declares its
addresses, how its articles are found (listing pages, feeds, sitemaps) and where its fields
are; a site with a real quirk overrides one method, with a comment saying why.

A *place* is where a field is read: a CSS selector (the element's text), "selector@attr"
(an attribute of the element) or "meta:NAME" (a <meta> by name, property or itemprop).
Each field lists places tried in order; a field that none of them gives is read by the
generic extractor, and a body that none gives comes from trafilatura.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urljoin, urlsplit

from ipnews.article import Article
from ipnews.errors import UsageError
from ipnews.urls import UrlRules, canonical_url, looks_like_trap, mirror_url

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode


@dataclass
class ListingItem:
    """One card on a listing page. Cards often know what the article page does not."""

    url: str
    title: str | None = None
    published_at: str | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    summary: str | None = None
    origin: str = "listing"  # what listed it: listing, rss, atom, sitemap, news-sitemap...


@dataclass
class ListingPage:
    items: list[ListingItem]
    next_url: str | None = None
    more: list[str] = field(default_factory=list)  # documents of the same kind to read next
    newest: str | None = None  # a feed's or sitemap's newest date, to tell a stale one


@dataclass(frozen=True)
class Fields:
    """Where an article page's fields are (see the module docstring for places)."""

    title: tuple[str, ...] = ("h1", "meta:og:title")
    published: tuple[str, ...] = ()
    date_formats: tuple[str, ...] = ()  # strptime formats; ISO 8601 is always understood
    authors: tuple[str, ...] = ()  # every element a place matches is one author
    section: tuple[str, ...] = ()
    summary: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # split on commas and semicolons
    body: tuple[str, ...] = ()  # the first element found holds the text, one block a line
    boilerplate: str | None = None  # CSS of blocks inside the body that are not its text
    not_article: str | None = None  # CSS that marks a page as no article (a listing)


@dataclass(frozen=True)
class Cards:
    """How a listing page is read: each card's link, and what the card says of it."""

    card: str | None = None  # CSS of one card; None: every link on the page is a candidate
    link: tuple[str, ...] = ("a[href]",)  # in a card, the first of these found is its link
    title: tuple[str, ...] = ()
    published: tuple[str, ...] = ()
    date_formats: tuple[str, ...] = ()
    summary: tuple[str, ...] = ()
    section: tuple[str, ...] = ()
    next: str | None = None  # CSS of the link to the next listing page


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
    # How articles are found: first listing pages, feeds and sitemaps (URLs, or paths
    # under home), and how listing pages are read.
    listings: ClassVar[tuple[str, ...]] = ()
    feeds: ClassVar[tuple[str, ...]] = ()
    sitemaps: ClassVar[tuple[str, ...]] = ()
    cards: ClassVar[Cards] = Cards()
    fields: ClassVar[Fields] = Fields()
    timezone: ClassVar[str] = "Asia/Shanghai"  # of dates a page gives without an offset

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

    # --- discovery ---------------------------------------------------------------------
    def discovery(self) -> list[tuple[str, str]]:
        """(kind, canonical URL) of every document that leads to articles: "listing",
        "feed" or "sitemap", in the order they are read."""
        return ([("listing", u) for u in self.listing_urls()]
                + [("feed", self._absolute(u)) for u in self.feeds]
                + [("sitemap", self._absolute(u)) for u in self.sitemaps])

    def listing_urls(self) -> list[str]:
        """Canonical URLs of the first listing page of each part of the site we read."""
        return [self.canonical(u) for u in self.listings]

    def _absolute(self, url: str) -> str:
        return urljoin(self.home + "/", url)

    def parse_listing(self, html: str, url: str) -> ListingPage:
        """The cards of a listing page, as `cards` describes them."""
        from ipnews.extraction import parse_html

        tree = parse_html(html)
        spec = self.cards
        items: dict[str, ListingItem] = {}
        # A card inside a card is part of it: read apart, every level of a nest would read
        # the same innermost headline again (900 levels over 1 MB of text took 18 s).
        nested = {n.mem_id for n in tree.css(f"{spec.card} {spec.card}")} if spec.card else set()
        for card in tree.css(spec.card) if spec.card else [tree.body or tree.root]:
            if card is None or card.mem_id in nested:
                continue
            links = (card.css(spec.link[0]) if spec.card is None else
                     [next((n for sel in spec.link if (n := card.css_first(sel))), None)])
            for link in links:
                if link is None:
                    continue
                href = self.canonical(link.attributes.get("href") or "", url)
                if not self.is_article_url(href) or href in items:
                    continue
                if spec.card is None:  # no card: the link's own text is its headline
                    items[href] = ListingItem(url=href, title=_text(link))
                    continue
                items[href] = ListingItem(
                    url=href, title=read(card, None, spec.title),
                    published_at=self.parse_date(read(card, None, spec.published),
                                                 spec.date_formats),
                    section=read(card, None, spec.section),
                    summary=read(card, None, spec.summary))
        return ListingPage(list(items.values()), self.next_listing(tree, html, url, len(items)))

    def next_listing(self, tree: LexborHTMLParser, html: str, url: str, count: int
                     ) -> str | None:
        """The next listing page: the link `cards.next` names, if any."""
        if count == 0 or not self.cards.next:
            return None
        node = tree.css_first(self.cards.next)
        href = node.attributes.get("href") if node is not None else None
        return self.canonical(href, url) if href else None

    def parse_date(self, value: str | None, formats: tuple[str, ...] = ()) -> str | None:
        """A date as a page gives it, as ISO 8601 in Shanghai time (naive: self.timezone)."""
        from ipnews.article import parse_date

        return parse_date(value, formats or self.fields.date_formats, self.timezone)

    # --- articles -----------------------------------------------------------------------
    def extract(self, html: str, url: str) -> Article:
        """An article page, as `fields` describes it; what they leave out, generically."""
        from ipnews.errors import ExtractError
        from ipnews.extraction import (
            BOILERPLATE,
            blocks,
            html_language,
            meta_tags,
            parse_html,
            trafilatura_paragraphs,
        )
        from ipnews.metadata import read_metadata

        tree = parse_html(html)
        spec = self.fields
        if spec.not_article and tree.css_first(spec.not_article) is not None:
            raise ExtractError("a listing page, not an article", kind="no_article")
        metas = meta_tags(tree)
        found: dict[str, Any] = {}

        def generic(field: str) -> Any:
            # Read only for a field the description left out: on a page whose selectors
            # all match, the generic reader would cost more than the whole extraction.
            if not found:
                found.update(read_metadata(tree, metas, url))
            return found[field]

        title = read(tree, metas, spec.title) or generic("title") or ""
        published = self.parse_date(read(tree, metas, spec.published)) or generic("published")
        authors = [a for place in spec.authors for a in read_all(tree, metas, place)]
        tags = [t for t in re.split(r"[,，;；]", read(tree, metas, spec.tags) or "") if t.strip()]
        body_node = next((n for place in spec.body if (n := tree.css_first(place)) is not None),
                         None)
        paragraphs = [b.text for b in blocks(body_node, skip=spec.boilerplate)]
        extraction = "selectors"
        if not paragraphs:
            extraction = "trafilatura"
            paragraphs = [p for p in trafilatura_paragraphs(html, url)
                          if p != title and not BOILERPLATE.match(p)]
        article = Article(
            source=self.name, url=url, title=title, body="\n\n".join(paragraphs),
            published_at=published, authors=authors or generic("authors"),
            section=read(tree, metas, spec.section) or generic("section"),
            summary=read(tree, metas, spec.summary) if spec.summary else generic("summary"),
            tags=tags or ([] if spec.tags else generic("tags")),
            language=html_language(tree) or self.language, extraction=extraction,
        )
        return self.refine(article, tree)

    def refine(self, article: Article, tree: LexborHTMLParser) -> Article:
        """A hook for what a site's description cannot say (see SHINE); the parsed page is
        passed along so that it is not parsed twice."""
        return article

def _text(node: LexborNode) -> str | None:
    from ipnews.article import clean_line

    return clean_line(node.text(separator=" ")) or None


def read_all(tree: LexborHTMLParser | LexborNode, metas: dict[str, str] | None, place: str
             ) -> list[str]:
    """Every value a place gives: each matching element's text or attribute, or a meta."""
    from ipnews.article import clean_line

    if place.startswith("meta:"):
        value = (metas or {}).get(place[5:].lower())
        return [value] if value else []
    selector, _, attr = place.partition("@")
    values = [clean_line(n.attributes.get(attr)) if attr else _text(n)
              for n in tree.css(selector)]
    return [v for v in values if v]


def read(tree: LexborHTMLParser | LexborNode, metas: dict[str, str] | None,
         places: tuple[str, ...]) -> str | None:
    """The first value the places give, in order; None if none does."""
    from ipnews.article import clean_line

    for place in places:
        if place.startswith("meta:"):
            if value := (metas or {}).get(place[5:].lower()):
                return value
            continue
        selector, _, attr = place.partition("@")
        node = tree.css_first(selector)
        if node is not None:
            value = clean_line(node.attributes.get(attr)) if attr else _text(node)
            if value:
                return value
    return None
