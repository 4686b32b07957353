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
    wire_source: tuple[str, ...] = ()  # a "Source:" / "来源：" credit; label cut off
    editor: tuple[str, ...] = ()
    body: tuple[str, ...] = ()  # the first element found holds the text, one block a line
    boilerplate: str | None = None  # CSS of blocks inside the body that are not its text
    attachments: tuple[str, ...] = ()  # CSS of boxes of file links besides the body
    not_article: str | None = None  # CSS that marks a page as no article (a listing)
    # Fields the generic reader must not fill: where a site has none, its metas would give
    # a wrong one (CNIPA's description is the first paragraph cut, not a standfirst).
    no_generic: frozenset[str] = frozenset()


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
    # Listing pages lead on by the link whose text says "next" (下一页, Next, »), where
    # no class marks it (cards.next, when set, wins).
    next_by_text: ClassVar[bool] = False
    # A site read by sections: where a section's first listing page is ("{}/" for
    # <home>/<section>/), the sections being the option `sections`.
    section_page: ClassVar[str | None] = None
    # Media types a listing document may have besides HTML (a CMS's XML, a JSON list).
    listing_types: ClassVar[tuple[str, ...]] = ()

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
        """Canonical URLs of the first listing page of each part of the site we read: the
        sections the user chose ([sources.NAME] sections), where the source has them."""
        if self.section_page is not None:
            return [f"{self.home}/{self.section_page.format(s.strip('/'))}"
                    for s in self.settings["sections"]]
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
        if spec.card is None:  # no card: every article link, with the date beside it
            for item in self.cards_near_dates(tree, url):
                items.setdefault(item.url, item)
        for card in tree.css(spec.card) if spec.card else []:
            if card is None or card.mem_id in nested:
                continue
            link = next((n for sel in spec.link if (n := card.css_first(sel))), None)
            if link is None:
                continue
            href = self.canonical(link.attributes.get("href") or "", url)
            if not self.is_article_url(href) or href in items:
                continue
            items[href] = ListingItem(
                url=href, title=read(card, None, spec.title),
                published_at=self.parse_date(read(card, None, spec.published),
                                             spec.date_formats),
                section=read(card, None, spec.section),
                summary=read(card, None, spec.summary))
        return ListingPage(list(items.values()), self.next_listing(tree, html, url, len(items)))

    def cards_near_dates(self, tree: LexborHTMLParser | LexborNode, url: str
                         ) -> list[ListingItem]:
        """Every visible article link of a page, with the date its list item shows: the
        listing of a site whose cards have no class to rely on (government sites)."""
        from ipnews.article import clean_line
        from ipnews.extraction import HIDDEN_SELECTOR

        hidden = {n.mem_id for n in tree.css(HIDDEN_SELECTOR)}
        items: dict[str, ListingItem] = {}
        for link in tree.css("a[href]"):
            href = self.canonical(link.attributes.get("href") or "", url)
            # Known already, unless as a picture's link (no text): the headline's is better.
            if (href in items and items[href].title) or not self.is_article_url(href):
                continue
            if hidden and _inside(link, hidden):
                continue
            box, depth = link, 0
            while box.parent is not None and depth < 3 and box.tag not in _ITEM_TAGS:
                box, depth = box.parent, depth + 1
            text = clean_line(link.text(separator=" "))
            full = clean_line(link.attributes.get("title"))
            # A list cuts long headlines ("…"); the link's title attribute keeps them.
            title = full if len(full) > len(text) else text
            around = clean_line(box.text(separator=" ")) if box.tag in _ITEM_TAGS else ""
            items[href] = ListingItem(url=href, title=title or None,
                                      published_at=card_date(around[:300]))
        dated = [i for i in items.values() if i.published_at]
        # Where the list shows dates, a link without one is another box's (most read,
        # related): its stories are listed where they belong, with their dates.
        return dated if len(dated) >= 2 else list(items.values())

    def next_link(self, tree: LexborHTMLParser, url: str) -> str | None:
        """The next page: the link `cards.next` names, else the one whose text says
        "next" (下一页, Next, »); never the page itself."""
        from ipnews.article import clean_line

        nodes = ([tree.css_first(self.cards.next)] if self.cards.next else
                 [a for a in tree.css("a[href]") if _NEXT_TEXT.match(clean_line(a.text()))])
        for node in nodes:
            href = (node.attributes.get("href") or "").strip() if node is not None else ""
            if href and not href.lower().startswith("javascript"):
                target = self.canonical(href, url)
                if target != url and looks_like_trap(target) is None:
                    return target
        return None

    def next_listing(self, tree: LexborHTMLParser, html: str, url: str, count: int
                     ) -> str | None:
        """The next listing page, if the page had cards (see next_link)."""
        if count and (self.cards.next or self.next_by_text):
            return self.next_link(tree, url)
        return None

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
            attachments,
            blocks,
            html_language,
            meta_tags,
            parse_html,
            split_credits,
            trafilatura_paragraphs,
            without_attachment_lines,
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
        published = self.parse_date(read(tree, metas, spec.published))
        if published and far_from_url_date(published, url):
            # China Daily has served a Buddhist-era year (2569) in its meta: the URL's date
            # is the publisher's own record of the day.
            published = None
        if not published and "published" not in spec.no_generic:
            published = generic("published")
        authors = self.clean_authors(
            [a for place in spec.authors for a in read_all(tree, metas, place)])
        tags = [t for t in re.split(r"[,，;；]", read(tree, metas, spec.tags) or "") if t.strip()]
        body_node = self.body_node(tree, html)
        boxes = [n for place in spec.attachments for n in tree.css(place)]
        files = attachments([n for n in (body_node, *boxes) if n is not None], url)
        paragraphs = without_attachment_lines(
            [b.text for b in blocks(body_node, skip=spec.boilerplate)], files)
        extraction = "selectors"
        if not paragraphs:
            extraction = "trafilatura"
            paragraphs = [p for p in trafilatura_paragraphs(html, url)
                          if p != title and not BOILERPLATE.match(p)]
        paragraphs, credited_wire, credited_editor = split_credits(paragraphs)
        wire = _credit(read(tree, metas, spec.wire_source)) or credited_wire
        editor = _credit(read(tree, metas, spec.editor)) or credited_editor

        def fallback(field: str, value: Any, empty: Any = None) -> Any:
            if value or field in spec.no_generic:
                return value or empty
            return generic(field) or empty

        article = Article(
            source=self.name, url=url, title=title, body="\n\n".join(paragraphs),
            published_at=published, authors=fallback("authors", authors, []),
            wire_source=wire, editor=editor,
            section=fallback("section", read(tree, metas, spec.section)),
            summary=(read(tree, metas, spec.summary) if spec.summary
                     else fallback("summary", None)),
            tags=tags or ([] if spec.tags else fallback("tags", [], [])),
            language=html_language(tree) or self.language, extraction=extraction,
            attachments=files, more_pages=self.more_pages(tree, url),
        )
        return self.refine(article, tree)

    def more_pages(self, tree: LexborHTMLParser, url: str) -> list[str]:
        """Canonical URLs of the further pages of the story at url (a hook: China Daily
        splits long stories over ..._2.html, _3.html)."""
        return []

    def join_pages(self, first: Article, rest: list[Article]) -> Article:
        """One story from its pages: the first page's fields, every page's text and files."""
        from ipnews.article import Article

        files = [f for page in (first, *rest) for f in page.attachments]
        body = "\n\n".join(page.body for page in (first, *rest) if page.body)
        fields = {**first.to_dict(), "body": body, "attachments": files, "more_pages": []}
        return Article(**fields)

    def clean_authors(self, authors: list[str]) -> list[str]:
        """The names the author places gave, as they gave them (a hook: CNIPA's author meta
        may name an office)."""
        return authors

    def body_node(self, tree: LexborHTMLParser, html: str) -> LexborNode | None:
        """The element holding the text: the first of `fields.body` found."""
        return next((n for place in self.fields.body if (n := tree.css_first(place)) is not None),
                    None)

    def refine(self, article: Article, tree: LexborHTMLParser) -> Article:
        """A hook for what a site's description cannot say (see SHINE); the parsed page is
        passed along so that it is not parsed twice."""
        return article

def _inside(node: LexborNode, ids: set[int]) -> bool:
    """Whether node or one of its ancestors is one of the elements ids names."""
    current: LexborNode | None = node
    while current is not None:
        if current.mem_id in ids:
            return True
        current = current.parent
    return False


_ITEM_TAGS = frozenset({"li", "tr", "dd", "dt", "p"})
_NEXT_TEXT = re.compile(r"^(?:下一页|下页|后页|next|next page|older posts|older entries|›|»|>)$",
                        re.I)
_CARD_DATE = re.compile(r"(\d{4})\s?[-/.年]\s?(\d{1,2})\s?[-/.月]\s?(\d{1,2})日?"
                        r"(?:\s?(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def card_date(text: str) -> str | None:
    """The first date a list item shows: a bare day, or a Shanghai time with its time."""
    from datetime import datetime

    from ipnews.article import iso_stated

    m = _CARD_DATE.search(text)
    if m is None:
        return None
    y, mo, d, h, mi, sec = (int(g) if g else None for g in m.groups())
    try:
        if h is None:
            return datetime(y, mo, d).date().isoformat()  # type: ignore[arg-type]
        return iso_stated(datetime(y, mo, d, h, mi, sec or 0))  # type: ignore[arg-type]
    except ValueError:
        return None


def far_from_url_date(published: str, url: str, days: int = 3) -> bool:
    """Whether a date is more than a few days from the one the URL's path holds."""
    from datetime import date

    from ipnews.metadata import url_date

    day = url_date(url)
    try:
        return day is not None and abs((date.fromisoformat(published[:10]) - day).days) > days
    except ValueError:
        return True


def _credit(value: str | None) -> str | None:
    """A credit as a place gives it, without its label or brackets ("来源：新华社" ->
    "新华社", "(责编：牛镛、岳弘彬)" -> "牛镛、岳弘彬")."""
    from ipnews.extraction import CREDIT_LABEL

    if not value:
        return None
    return CREDIT_LABEL.sub("", value).rstrip(")）】]").strip() or None


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
