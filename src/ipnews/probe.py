"""`ipnews sources add`: look at a site and propose a [sources.NAME] declaration for it.

probe() reads what a site offers, politely and through the caller's Client (so robots.txt,
the SSRF rules and the caps hold for every request): the page it is given, the site's home
page, the feeds they link and a handful of usual feed paths, and the sitemaps robots.txt
names. It chooses what a fetch would best read (see _RANK), extracts the few newest articles
found there, and returns the declaration with those samples, so that people see what the
source would give before they add it. stanza() writes the proposal as the TOML text of the
table, which loads as a declared source.

Feeds, sitemaps and listing pages are read by the source the proposal would declare, in the
extractor process (Extractor.listing), exactly as `ipnews fetch` reads them: what the probe
finds there is what a fetch would find, and a hostile document is bounded by the child's
timeout and memory limit. Articles go through the generic extractor there too. Only the
site's name, language and feed links are read here, from the given page and the home page:
two HTML pages, already capped in size by the Client, parsed under parse_html's guards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from ipnews.errors import ExtractError, FetchError, UsageError

if TYPE_CHECKING:
    from ipnews.client import Client, Page
    from ipnews.sources.base import ListingItem, Source
    from ipnews.worker import Extracted, Extractor, InProcess

# Paths where sites commonly serve a feed they do not link (WordPress, Jekyll, Hugo, Ghost).
USUAL_FEEDS = ("/feed/", "/rss.xml", "/atom.xml", "/feed.xml", "/rss/", "/index.xml")
MAX_FEED_REQUESTS = 6  # feed URLs asked, linked and usual together
MAX_SITEMAPS = 3  # robots.txt Sitemap: lines followed
MAX_CHILD_SITEMAPS = 2  # sitemaps of an index read when the index itself lists no article
MIN_LISTING_LINKS = 3  # headline-like links of one URL shape before a page counts as a listing
ROBOTS_MAX_CHARS = 512 * 1024  # as the Client reads robots.txt for its own rules
DEFAULT_STALE_DAYS = 30.0  # what `ipnews fetch` calls stale by default ([fetch] stale_after)
# The name of the provisional source that reads documents in the extractor process: the
# child builds a source by name, and the proposal's own name may be a built-in one's
# ("shine" from www.shine.cn), whose parser would then be used instead.
_PROBE_SOURCE = "ipnews-probe"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
# Containers that hold an article's text on many sites, tried as `body` only when the
# generic extractor refused a sample: the declared source reads them before trafilatura.
BODY_CANDIDATES = (
    "div.entry-content",  # WordPress themes
    '[itemprop="articleBody"]',  # schema.org markup
    "div.post-content",
    "div.article-content",
    "div.article-body",
    "div.TRS_Editor",  # TRS, the CMS of many Chinese government and news sites
    "#Content",  # China Daily
)
# Share and related-post widgets that themes put inside the body container: proposed as
# `boilerplate` with a body, when removing them removes text.
WIDGETS = ".sharedaddy, .jp-relatedposts, .addtoany_share_save_container"
# What a fetch would best read, best first: a document that says when its newest item
# is from beats one that does not, and a listing (which never says) beats a stale
# document, whose every run would be reported stale. A Google News sitemap lists only the
# last days' stories, so it is as good as a feed.
_RANK = {("feed", "recent"): 0, ("news", "recent"): 1, ("sitemap", "recent"): 2,
         ("feed", "undated"): 3, ("listing", "undated"): 4, ("feed", "stale"): 5}
_WORST = 6  # stale or undated sitemaps
_PAGE_EXTENSIONS = frozenset({"", "html", "htm", "shtml", "php", "asp", "aspx", "jsp"})
# Final labels of a host name that say nothing about the site (country codes are any
# two letters), so "chinaiplawupdate.com" is "chinaiplawupdate", "ip.people.com.cn" is
# "ip-people". ("news" says something: english.news.cn is "english-news".)
_GENERIC_LABELS = frozenset({"com", "net", "org", "gov", "edu", "int", "mil", "info", "biz",
                             "name", "asia", "example", "test", "local", "localhost",
                             "invalid"})


@dataclass
class Proposal:
    name: str
    table: dict[str, Any]  # the [sources.NAME] keys to write
    samples: list[dict[str, Any]]  # the newest articles, as the source would read them
    notes: list[str]  # what was found and tried, for people


@dataclass
class _Found:
    """A document that leads to articles, as the proposed source would read it."""

    kind: str  # "feed", "sitemap" or "listing"
    url: str  # what the table would name
    items: list[ListingItem]
    newest: str | None = None
    news: bool = False  # a Google News sitemap
    pattern: str | None = None  # listings: the regular expression of their article URLs
    more: list[str] = field(default_factory=list)  # the sitemaps an index names


def probe(url: str, client: Client, extractor: Extractor | InProcess, *,
          name: str | None = None, samples: int = 3,
          stale_after: float = DEFAULT_STALE_DAYS) -> Proposal:
    """Propose a declaration for the site at url (an article, a home page or a feed).

    stale_after: days after which a feed's or sitemap's newest item is too old to prefer
    it; 0: never (pass [fetch] stale_after, so the probe judges as a fetch will). Every
    failing request or document is a note; UsageError when nothing usable was found."""
    if name is not None and not _NAME.fullmatch(name):
        raise UsageError(f"bad source name {name!r}: lower-case letters, digits, - and _ "
                         "(at most 40)")
    if not re.match(r"^https?://[^/]", url):
        raise UsageError(f"not an http(s) URL: {url!r}")
    return _Probe(client, extractor, stale_after).run(url, name, samples)


class _Probe:
    def __init__(self, client: Client, extractor: Extractor | InProcess,
                 stale_after: float) -> None:
        self.client = client
        self.extractor = extractor
        self.stale_after = stale_after
        self.notes: list[str] = []
        self.origin = ""
        # What each step tried, for the one line of the error when nothing is usable.
        self.tried: list[str] = []
        self.failures: dict[str, str] = {}  # URL -> why it could not be fetched

    # --- the steps ------------------------------------------------------------------
    def run(self, url: str, name: str | None, samples: int) -> Proposal:
        first = self._get(url, "the page")
        # Why the page failed is what the error, if any, most needs to say.
        self.tried.append(f"the page ({self.failures[url]})" if first is None else "the page")
        # A redirect (to https, to www.) says where the site really lives.
        self.origin = _origin(first.final_url if first else url)
        given_kind = _document_kind(first) if first else None
        pages: list[Page] = [first] if first and given_kind is None else []
        home_url = self.origin + "/"
        if not (first and urlsplit(first.final_url).path in ("", "/") and given_kind is None):
            home = self._get(home_url, "the home page", html=True)
            if home is not None:
                pages.append(home)
        site = self._read_pages(pages)
        if first is not None and given_kind is None and (
                proposal := self._cms(first, site, name, samples)):
            return proposal

        found: list[_Found] = []
        if given_kind and first and (given := self._document(first, given_kind)):
            found.append(given)
        done = {first.final_url} if first else set()
        # Each step only while what it could find would beat what is in hand.
        if self._best(found) > _RANK["feed", "recent"]:
            found += self._feeds(site.feeds, done)
        if self._best(found) > _RANK["feed", "recent"]:
            found += self._sitemaps(done)
        if self._best(found) > _RANK["listing", "undated"] and pages:
            self.tried.append("the links on the page" + "s" * (len(pages) > 1))
            found += [f for page in pages if (f := self._listing(page)) is not None]
        found = [f for f in found if f.items]
        if not found:
            raise UsageError(f"nothing to propose for {url}: no feed, sitemap or listing "
                             f"with articles found (tried {', '.join(self.tried)})")
        chosen = min(found, key=self._rank)  # min keeps the first of equals: the order tried
        self.notes.append(f"chose the {_label(chosen)} {chosen.url}: {self._why(chosen)}")

        table: dict[str, Any] = {}
        if site.title:
            table["title"] = site.title
        if urlsplit(chosen.url).hostname != urlsplit(self.origin).hostname:
            table["home"] = self.origin  # the articles live on the site, not the feed's host
        table[chosen.kind] = chosen.url
        if chosen.pattern:
            table["article_pattern"] = chosen.pattern
        if site.language:
            table["language"] = site.language
        records = self._samples(chosen, table, samples)
        return Proposal(name or name_for(self.origin), table, records, self.notes)

    def _cms(self, page: Page, site: _Site, name: str | None, samples: int
             ) -> Proposal | None:
        """A site of the JCMS government CMS (CNIPA's, many provincial offices'): declared
        by its columns, which the adapter reads better than any listing guess. The column
        is the one the URL names (a column page or an article), else the columns of the
        article links on the page, most linked first."""
        from ipnews.decoding import decode_html
        from ipnews.sources.declared import declared_class
        from ipnews.sources.jcms import columns_of

        columns = columns_of(decode_html(page.body, page.content_type).text,
                             urlsplit(page.final_url).path)
        if not columns:
            return None
        table: dict[str, Any] = {"cms": "jcms", "home": self.origin, "columns": columns}
        if site.title:
            table["title"] = site.title
        table["language"] = site.language or "zh"
        source = declared_class(_PROBE_SOURCE, table)(base_url=None, declaration=table)
        url = source.listing_urls()[0]
        listing = self._get(url, "column", html=True)
        items = self.extractor.listing(source, listing.body, listing.content_type, url
                                       ).items if listing is not None else []
        if not items:
            return None
        self.notes.append(f"a site of the JCMS CMS (CNIPA's): columns {', '.join(columns)}; "
                          f"column {columns[0]} lists {len(items)} articles")
        records = self._samples(_Found("listing", url, items), table, samples)
        return Proposal(name or name_for(self.origin), table, records, self.notes)

    def _read_pages(self, pages: list[Page]) -> _Site:
        """The site's name, language and feed links, from the given page and the home page
        (the home page's name first: an article page's og:site_name is rarer)."""
        site = _Site()
        for page in reversed(pages):
            try:
                title, language, feeds = _page_facts(page)
            except ExtractError as exc:
                self.notes.append(f"could not read {page.url}: {exc}")
                continue
            site.title = site.title or title
            site.language = site.language or language
            site.feeds += [f for f in feeds if f not in site.feeds]
        if site.feeds:
            self.notes.append(f"feeds linked from the pages: {', '.join(site.feeds)}")
        return site

    def _feeds(self, linked: list[str], done: set[str]) -> list[_Found]:
        """Linked feeds, then the usual paths, until one is recent or the requests allowed
        are spent."""
        found: list[_Found] = []
        usual = [u for p in USUAL_FEEDS if (u := urljoin(self.origin, p)) not in linked]
        asked: list[str] = []
        for url in [u for u in [*linked, *usual] if u not in done][:MAX_FEED_REQUESTS]:
            asked.append(url)
            # A guessed path that is missing says nothing: only linked feeds' failures
            # are notes.
            page = self._get(url, "feed", quiet=url in usual)
            if page is None:
                continue
            if _document_kind(page) != "feed":
                if url in linked:
                    self.notes.append(f"feed {url}: not an RSS or Atom document")
                continue
            if feed := self._document(page, "feed"):
                found.append(feed)
            if self._best(found) == _RANK["feed", "recent"]:
                break
        self.tried.append(f"{len(asked)} feed URL{'s' * (len(asked) != 1)}")
        if guessed := [u for u in asked if u in usual]:
            answered = [f.url for f in found if f.url in guessed]
            self.notes.append(f"usual feed paths tried: {', '.join(guessed)}; "
                              + (f"{', '.join(answered)} answered with a feed" if answered
                                 else "none answered with a feed"))
        return found

    def _sitemaps(self, done: set[str]) -> list[_Found]:
        """The sitemaps robots.txt names; of an index, the children likeliest to hold news."""
        robots = self._get(self.origin + "/robots.txt", "robots.txt")
        urls = [u for u in _sitemap_lines(robots.body) if u not in done] if robots else []
        self.tried.append("robots.txt" + (f" and {len(urls)} sitemaps" if urls else ""))
        if robots is not None:
            self.notes.append(f"robots.txt names {len(urls)} sitemap(s)"
                              + (f": {', '.join(urls)}" if urls else ""))
        found: list[_Found] = []
        for url in urls:
            if self._best(found) <= _RANK["news", "recent"]:
                break  # nothing a sitemap could offer is better
            page = self._get(url, "sitemap")
            if page is None:
                continue
            index = self._document(page, "sitemap")
            if index is None:
                continue
            found.append(index)
            if index.items or not index.more:
                continue
            # An index: read a child or two, news ones first. A news child is proposed
            # itself (a fetch then reads only it); another is proposed as the index, which
            # a fetch follows to every child.
            children = sorted(index.more, key=lambda u: "news" not in u.lower())
            for child_url in children[:MAX_CHILD_SITEMAPS]:
                if self._best(found) <= _RANK["news", "recent"]:
                    break
                child = self._get(child_url, "sitemap")
                if child is not None and (doc := self._document(child, "sitemap")):
                    doc.url = doc.url if doc.news else index.url
                    found.append(doc)
        return found

    def _listing(self, page: Page) -> _Found | None:
        """The page read as a listing: its links of the commonest article-like shape."""
        url = page.final_url
        try:
            listed = self.extractor.listing(self._source("listing", url), page.body,
                                            page.content_type, url)
        except ExtractError as exc:
            self._reraise_stop(exc)
            self.notes.append(f"could not read {url} as a listing: {exc}")
            return None
        group = _article_group(listed.items)
        if group is None:
            self.notes.append(f"{url}: no group of {MIN_LISTING_LINKS} or more links "
                              "that look like articles")
            return None
        items, pattern = group
        self.notes.append(f"{url}: {len(items)} links to articles of one shape ({pattern})")
        return _Found("listing", url, items, pattern=pattern)

    def _document(self, page: Page, kind: str) -> _Found | None:
        """A feed or a sitemap read by the source that would declare it; None (a note)
        when it cannot be read."""
        url = page.final_url  # where a redirect led: what the table should name
        try:
            listed = self.extractor.listing(self._source(kind, url), page.body,
                                            page.content_type, url, kind=kind)
        except ExtractError as exc:
            self._reraise_stop(exc)
            self.notes.append(f"{kind} {url}: {exc}")
            return None
        found = _Found(kind, url, listed.items, listed.newest,
                       news=kind == "sitemap" and _is_news_sitemap(page.body),
                       more=listed.more)
        self.notes.append(f"{_label(found)} {url}: {len(listed.items)} articles"
                          + (f", newest {listed.newest[:10]}" if listed.newest else "")
                          + (f", an index of {len(listed.more)} sitemaps" if listed.more
                             else ""))
        return found

    # --- samples ----------------------------------------------------------------------
    def _samples(self, chosen: _Found, table: dict[str, Any], count: int
                 ) -> list[dict[str, Any]]:
        """The newest articles through the generic extractor. If it refused some and one
        of the usual body containers reads every one, that container joins the table
        (with the usual widgets as boilerplate, if they were in it), and the samples show
        what the source will then read."""
        # Feeds and sitemaps come newest first (discovery sorts them), listings as the page
        # orders them, which is newest first on every listing worth the name.
        pages = [(item, self._get(item.url, "article", html=True))
                 for item in chosen.items[:count]]
        records = [self._extract(item, page, table) for item, page in pages]
        fetched = [(item, page) for item, page in pages if page is not None]
        refused = [(item, page) for (item, page), record in zip(pages, records, strict=True)
                   if page is not None and record["error"]]
        if not refused or "cms" in table:  # a CMS adapter knows where the text is
            return records
        for selector in BODY_CANDIDATES:
            declared = {**table, "body": selector}
            # The refused page first: most containers are absent from it, one job each.
            if self._extract(*refused[0], declared)["error"]:
                continue
            trial = [self._extract(item, page, declared) for item, page in fetched]
            if any(r["error"] for r in trial):
                continue
            cleaned = [self._extract(item, page, {**declared, "boilerplate": WIDGETS})
                       for item, page in fetched]
            if any(c["body_chars"] < t["body_chars"] for c, t in zip(cleaned, trial,
                                                                    strict=True)):
                declared["boilerplate"] = WIDGETS
                trial = cleaned
            table.update(declared)
            self.notes.append(f"the generic extractor refused {len(refused)} of "
                              f"{len(fetched)} samples; body = {selector!r} reads them all"
                              + (", boilerplate leaves out the share widgets in it"
                                 if "boilerplate" in declared else ""))
            read = iter(trial)
            return [next(read) if page is not None else record
                    for (item, page), record in zip(pages, records, strict=True)]
        return records

    def _extract(self, item: ListingItem, page: Page | None, table: dict[str, Any]
                 ) -> dict[str, Any]:
        """One sample as the generic extractor reads it, or, when table names a body, as
        the declared source would; or why it cannot be read."""
        from ipnews.worker import Job

        url = item.url
        record: dict[str, Any] = {"url": url, "title": item.title,
                                  "published_at": item.published_at, "authors": [],
                                  "body_chars": None, "extraction": None, "error": None}
        if page is None:
            record["error"] = "could not be fetched (see the notes)"
            return record
        if "body" not in table and "cms" not in table:
            job = Job.inspection(None, page.body, page.content_type, url, url)
        else:
            job = Job(_PROBE_SOURCE, self.origin, {"declaration": table}, page.body,
                      page.content_type, url, inspect=True)
        try:
            done: Extracted = self.extractor.extract(job)
            if done.refused is not None:  # the quality gate, which a fetch applies too
                raise done.refused
        except ExtractError as exc:
            self._reraise_stop(exc)
            record["error"] = f"{exc.kind}: {exc}"
            return record
        article = done.article
        record.update(title=article.title or record["title"],
                      published_at=article.published_at or record["published_at"],
                      authors=article.authors, body_chars=len(article.body),
                      extraction=article.extraction)
        return record

    # --- helpers ----------------------------------------------------------------------
    def _source(self, kind: str, url: str) -> Source:
        """The provisional declared source a document is read with (the table's key
        `kind` = url), named so that the extractor process builds the same one."""
        from ipnews.sources.declared import declared_class

        table = {kind: url}
        if urlsplit(url).hostname != urlsplit(self.origin).hostname:
            table["home"] = self.origin  # or its articles, on the site, would not be its own
        return declared_class(_PROBE_SOURCE, table)(base_url=None, declaration=table)

    def _get(self, url: str, what: str, *, html: bool = False, quiet: bool = False
             ) -> Page | None:
        """A document through the Client (html: only an HTML page will do, as for a fetch's
        articles; else any type, as for feeds). A failure is a note (quiet: none, for
        guesses such as the usual feed paths, whose 404s say nothing), never a traceback."""
        from ipnews.client import HTML_TYPES

        try:
            return self.client.get(url, accept=HTML_TYPES if html else None)
        except FetchError as exc:
            self._reraise_stop(exc)
            self.failures[url] = str(exc)
            if not quiet:
                self.notes.append(f"{what} {url}: {exc}")
            return None

    @staticmethod
    def _reraise_stop(exc: FetchError | ExtractError) -> None:
        """Ctrl-C (the Client's or Extractor's stop) ends the probe; it is no finding."""
        if exc.kind == "interrupted":
            raise exc

    def _freshness(self, found: _Found) -> str:
        from ipnews.discovery import is_stale

        if found.kind == "listing" or not found.newest:
            return "undated"
        if self.stale_after and is_stale(found.newest, self.stale_after):
            return "stale"
        return "recent"

    def _best(self, found: list[_Found]) -> int:
        return min(map(self._rank, found), default=_WORST)

    def _rank(self, found: _Found) -> int:
        if not found.items:
            return _WORST + 1
        kind = "news" if found.news else found.kind
        return _RANK.get((kind, self._freshness(found)), _WORST)

    def _why(self, found: _Found) -> str:
        fresh, newest = self._freshness(found), (found.newest or "")[:10]
        if fresh == "recent":
            return f"its newest item is from {newest}"
        if fresh == "stale":
            return (f"its newest item is from {newest}, more than {self.stale_after:g} days "
                    "ago, but nothing better was found")
        if found.kind == "listing":
            return "no feed or sitemap with recent articles was found"
        return "its items are undated"


@dataclass
class _Site:
    title: str | None = None
    language: str | None = None
    feeds: list[str] = field(default_factory=list)


def _page_facts(page: Page) -> tuple[str | None, str | None, list[str]]:
    """(site name, language, feed links) of an HTML page."""
    from ipnews.decoding import decode_html
    from ipnews.discovery import feed_links
    from ipnews.extraction import html_language, meta, meta_tags, parse_html, text_of

    html = decode_html(page.body, page.content_type).text
    tree = parse_html(html)
    title = meta(meta_tags(tree), "og:site_name")
    if not title and (whole := text_of(tree, "title")):
        title = re.split(r"\s+[-|–—:·]\s+", whole)[0]  # "Site – tagline": the site
    # WordPress links its comments feed beside the posts': comments are not articles.
    feeds = [f for f in feed_links(html, page.final_url) if "comments" not in f.lower()]
    return title or None, html_language(tree), feeds


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _label(found: _Found) -> str:
    return "news sitemap" if found.news else found.kind


def _document_kind(page: Page) -> str | None:
    """"feed" or "sitemap" by the document's root element, else None (a page): sites get
    the Content-Type of both wrong."""
    from ipnews.discovery import looks_like_feed

    if looks_like_feed(page.body, page.content_type):
        return "feed"
    if page.body[:2] == b"\x1f\x8b":
        return "sitemap"  # gzip: sites compress sitemaps, never pages or feeds
    head = page.body[:4096]
    root = re.search(rb"<(?:[\w.-]+:)?(?:urlset|sitemapindex)[\s>]", head)
    # The root element: no other element opens before it (the XML declaration,
    # comments and processing instructions may).
    if root and not re.search(rb"<[a-zA-Z]", head[:root.start()]):
        return "sitemap"
    return None


def _is_news_sitemap(body: bytes) -> bool:
    # The Google News namespace is declared on the root element. (A gzipped sitemap is not
    # looked into: it is then taken for a plain one, and ranks a little lower.)
    return b"google.com/schemas/sitemap-news/" in body[:8192]


def _sitemap_lines(body: bytes) -> list[str]:
    """The http(s) URLs of robots.txt's "Sitemap:" lines, at most MAX_SITEMAPS."""
    text = body[:ROBOTS_MAX_CHARS].decode("utf-8", errors="replace")
    urls = [m.group(1) for line in text.splitlines()
            if (m := re.match(r"\s*sitemap\s*:\s*(https?://\S+)", line, re.I))]
    return list(dict.fromkeys(urls))[:MAX_SITEMAPS]


# --- listings: which links are articles ------------------------------------------------
def _article_group(items: list[ListingItem]) -> tuple[list[ListingItem], str] | None:
    """The links of the URL shape with the most headline-like link texts, and that shape
    as a regular expression: on a listing page the stories share one shape
    (/2026/11/<slug>/, /art/2026/11/20/art_53_1001.html) and long link texts, the menus
    other shapes and short texts."""
    groups: dict[str, list[ListingItem]] = {}
    for item in items:
        pattern = _path_pattern(urlsplit(item.url).path)
        if pattern is not None:
            groups.setdefault(pattern, []).append(item)
    best = max(groups.items(), default=None,
               key=lambda g: (sum(_headline(i.title) for i in g[1]), len(g[1])))
    if best is None or sum(_headline(i.title) for i in best[1]) < MIN_LISTING_LINKS:
        return None
    return best[1], best[0]


def _path_pattern(path: str) -> str | None:
    """The shape of an article-like path as a regular expression; None when the path does
    not end in a slug or an id (a section, a file)."""
    segments = [s for s in path.split("/") if s]
    if not segments:
        return None
    _stem, dot, extension = segments[-1].rpartition(".")
    if extension.lower() not in _PAGE_EXTENSIONS and dot:
        return None
    tokens = [_segment_pattern(s) for s in segments]
    if tokens[-1] == re.escape(segments[-1]):
        return None  # a fixed last segment (/news/, /about.html) names one page, no story
    return "/" + "/".join(tokens) + ("/?" if path.endswith("/") else "")


def _segment_pattern(segment: str) -> str:
    stem, dot, extension = segment.rpartition(".")
    if not dot:
        stem, extension = segment, ""
    suffix = re.escape(dot + extension)
    words = [w for w in re.split(r"[-_]", stem) if sum(c.isalpha() for c in w) >= 2]
    if len(words) >= 2:
        return r"[^/]+" + suffix  # a slug
    if re.search(r"\d", stem):
        # Ids: each run of digits (art_53_1001) or of hex with a digit (WS5c39...) is
        # generalized, the letters around them kept. (Split on hex runs, then looked at:
        # one pattern finding "hex with a digit" backtracks quadratically on long ones.)
        pieces = re.split(r"([0-9a-fA-F]+)", stem)
        return "".join(re.escape(p) if i % 2 == 0 or not re.search(r"\d", p) else
                       r"\d+" if p.isdigit() else "[0-9a-fA-F]+"
                       for i, p in enumerate(pieces)) + suffix
    return re.escape(segment)


def _headline(text: str | None) -> bool:
    """Whether a link's text reads like a story's headline, not a menu entry."""
    from ipnews.article import CJK

    text = text or ""
    return len(text.split()) >= 4 or len(CJK.findall(text)) >= 6


# --- names and TOML ----------------------------------------------------------------------
def name_for(url: str) -> str:
    """A source name from a site's host: "chinaiplawupdate" from chinaiplawupdate.com,
    "ip-people" from ip.people.com.cn; lower-case, [a-z0-9_-], at most 40 characters."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    labels = host.split(".")
    if not re.fullmatch(r"[\d.]+|[0-9a-f:]+", host):  # an IP address keeps every part
        if len(labels) > 1 and labels[0] in ("www", "m"):
            labels = labels[1:]
        while len(labels) > 1 and (len(labels[-1]) == 2 or labels[-1] in _GENERIC_LABELS):
            labels.pop()
    name = re.sub(r"[^a-z0-9_-]+", "-", "-".join(labels)).strip("-_")
    return name[:40].rstrip("-_") or "site"


def stanza(proposal: Proposal) -> str:
    """The TOML text of [sources.NAME], a comment line per sample after it."""
    lines = [f"[sources.{proposal.name}]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in proposal.table.items()]
    lines += [f"# {_comment(s)}" for s in proposal.samples]
    return "\n".join(lines) + "\n"


def _comment(sample: dict[str, Any]) -> str:
    from ipnews.article import clean_line

    url = clean_line(sample.get("url"))
    if sample.get("error"):
        text = f"sample failed: {url}: {sample['error']}"
    else:
        date = (sample.get("published_at") or "undated")[:10]
        text = (f"sample {date}: {sample.get('title') or '(no title)'} "
                f"({sample.get('body_chars') or 0:,} characters, {sample.get('extraction')}) "
                f"{url}")
    # clean_line: a comment ends at a line break, and TOML allows no control character.
    return clean_line(text)


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
                 "\f": "\\f", "\r": "\\r"}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + "".join(_toml_char(c) for c in value) + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__} here")


def _toml_char(char: str) -> str:
    if char in _TOML_ESCAPES:
        return _TOML_ESCAPES[char]
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return f"\\u{code:04X}"
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"  # a lone surrogate is no character: TOML (and UTF-8) refuse it
    return char
