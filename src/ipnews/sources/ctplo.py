"""CTPLO blog (www.ctplo.com): a trademark agency's English blog, every post kept.

No raw HTML of the site could be found, only the text of its pages, so this parser does
not trust class names. It walks the visible text in order and cuts the post out between
landmarks that the site's text always has: "« Back Blog Home", the headline, and the first
of "Tags:", "Older post", "Newer post" or the call-to-action heading. trafilatura takes over
when the landmarks are missing, and its output is cut at the same landmarks.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ipnews.article import Article, clean_line, parse_date
from ipnews.extraction import (
    SOURCE_LINE,
    Block,
    blocks,
    html_language,
    meta,
    meta_tags,
    parse_html,
    text_of,
    trafilatura_paragraphs,
)
from ipnews.sources import register
from ipnews.sources.base import ListingItem, ListingPage, Source

_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
# Every optional part brings its own leading spaces and the author starts and ends with a
# non-space, so no two \s* meet: where they do, a run of spaces is split every possible
# way (cubic in its length).
_META_LINE = re.compile(
    r"^\s*(?:(?P<author>[^·•|\s](?:[^·•|]*?[^·•|\s])?)\s*)?(?:[·•|]\s*)?Published on\s+"
    r"(?P<date>\d{4}-\d{2}-\d{2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?)"
    r"(?:\s*[·•|])?(?:\s*(?P<reads>\d+)\s+reads?)?"
    r"(?:\s*(?P<category>[A-Za-z](?:[A-Za-z ]*[A-Za-z])?))?\s*$", re.I)
_BACK = re.compile(r"^«?\s*Back\s+(?:to\s+)?Blog\s+Home", re.I)
_TAGLINE = re.compile(r"^CTPLO provides professional interpretations", re.I)
_STOP = re.compile(
    r"^(Tags?\s*:|Older post|Newer post|Previous post|Next post|Have a question about "
    r"trademarking|Get a Free Consultation|Back to top|Related posts|Leave a comment)", re.I)
_IMAGE_NAME = re.compile(r"^[\w\-. ()]+\.(?:jpe?g|png|gif|bmp|webp)$", re.I)
_WORD_BULLET = re.compile(r"^u\s+(?=\S)")  # Word's Wingdings bullet, exported as "u "
_HEADINGS = {"h1", "h2", "h3", "h4"}
_READ_MORE = re.compile(r"^(Read (?:full blog|more)|More|Continue reading)\b", re.I)
# Site navigation and the site footer are never part of a post, whatever the markup; a
# <footer> inside an <article> is the post's own (tags, sharing) and is kept.
_CHROME = "nav, footer:not(article footer)"
_SITE_TITLES = re.compile(r"^(CTPLO Blog|CTPLO|Blog)$", re.I)
# (?<!\s): tried where a run of spaces starts, not again at each of its spaces.
_SITE_SUFFIX = re.compile(r"(?<!\s)\s+[-|–]\s+CTPLO")
_TAG_SEPARATOR = re.compile(r"[,;，]")


@register
class Ctplo(Source):
    name = "ctplo"
    title = "CTPLO blog"
    home = "http://www.ctplo.com"
    hosts = frozenset({"ctplo.com", "www.ctplo.com"})
    article_path = re.compile(r"/blog/(?!blog-list$|category$|tag$)[a-z0-9][a-z0-9-]*")
    trailing_slash = False
    listings = ("/blog/blog-list",)

    # --- listing ---------------------------------------------------------------------
    def parse_listing(self, html: str, url: str) -> ListingPage:
        # The markup is unknown (see the module docstring): cards are found by their text,
        # a link to a post followed by its "Published on" meta line, not by selectors.
        tree = parse_html(html)
        lines = blocks(tree.body)
        items: dict[str, ListingItem] = {}
        current: ListingItem | None = None
        first_links = self._first_article_links(tree, url)
        for block in lines:
            link = first_links.get(block.node.mem_id)
            if link is not None:
                href, text = link
                current = items.setdefault(href, ListingItem(url=href))
                if current.title is None and text and not _READ_MORE.match(text):
                    current.title = text
            # The card's meta line follows its title; it belongs to the last card seen.
            elif current is not None and (m := _META_LINE.match(block.text)):
                _apply_meta(current, m)
        # Cards carry a meta line; links without one are sidebars ("Popular posts").
        cards = [i for i in items.values() if i.published_at] or list(items.values())
        return ListingPage(cards, self._next_listing(tree, url, len(cards)))

    def _first_article_links(self, tree: LexborHTMLParser, url: str
                             ) -> dict[int, tuple[str, str]]:
        """For every element holding a link to a post, the first such link in it, as
        (canonical URL, text), by the element's mem_id.

        One pass over the links, each walking up only to the first ancestor that already has
        one. Asking each line's element for its links instead reads a whole <body> once per
        line: 4,000 lines and 4,000 links took 17 s.
        """
        first: dict[int, tuple[str, str]] = {}
        for a in tree.css("a[href]"):
            raw = a.attributes.get("href")
            href = self.canonical(raw, url) if raw else ""
            if not self.is_article_url(href):
                continue
            link = (href, clean_line(a.text()))
            node: LexborNode | None = a
            while node is not None and node.mem_id not in first:
                first[node.mem_id] = link
                node = node.parent
        return first

    def _next_listing(self, tree, url: str, count: int) -> str | None:
        here = _offset(url)
        offsets = []
        for a in tree.css("a[href]"):
            href = self.canonical(a.attributes.get("href") or "", url)
            if (o := _offset(href)) is not None and o > here:
                offsets.append(o)
        if offsets:
            return f"{self.home}/blog/blog-list/{min(offsets)}"
        # No pager found: the site shows 10 cards a page, so a full page may have a next one.
        return f"{self.home}/blog/blog-list/{here + count}" if count >= 10 else None

    # --- post ------------------------------------------------------------------------
    def extract(self, html: str, url: str) -> Article:
        # Landmarks, not selectors: the post is cut out of the visible text (module docstring).
        tree = parse_html(html)
        lines = blocks(tree.body, skip=_CHROME)
        title = _title_hint(tree) or ""
        start = next((i + 1 for i, b in enumerate(lines) if _BACK.match(b.text)), 0)
        head = _find_headline(lines, start, title or None)
        card = ListingItem(url=url)  # what the post's own meta line says, when it has one
        stop = next((i for i in range(max(head, start), len(lines))
                     if _STOP.match(lines[i].text)), len(lines))
        body_lines: list[str] = []
        if head >= 0:
            title = lines[head].text
            for block in lines[head + 1:stop]:
                if not body_lines and (m := _META_LINE.match(block.text)):
                    _apply_meta(card, m)
                    continue
                body_lines.append(block.text)
        extraction = "landmarks"
        if len(" ".join(body_lines)) < 200:  # landmarks failed: let trafilatura find the text
            extraction = "trafilatura"
            body_lines = _cut_trafilatura(trafilatura_paragraphs(html, url), title, card)
        body_lines, wire_source = _clean_body(body_lines)
        return Article(source=self.name, url=url, title=title, body="\n\n".join(body_lines),
                       published_at=card.published_at, authors=card.authors,
                       section=card.section, wire_source=wire_source, tags=_tags(lines, stop),
                       language=html_language(tree) or self.language, extraction=extraction)


def _apply_meta(target: ListingItem, m: re.Match[str]) -> None:
    author = clean_line(m.group("author"))
    if author:
        target.authors = [author]
    target.published_at = parse_date(m.group("date"), _DATE_FORMATS)
    if m.group("category"):
        target.section = clean_line(m.group("category"))


def _offset(url: str) -> int | None:
    m = re.search(r"/blog/blog-list(?:/(\d+))?/?$", url)
    return None if m is None else int(m.group(1) or 0)


def _title_hint(tree) -> str | None:
    for candidate in (meta(meta_tags(tree), "og:title"), text_of(tree, "title")):
        if candidate:
            candidate = _SITE_SUFFIX.split(candidate)[0].strip()
            if candidate and not _SITE_TITLES.match(candidate):
                return candidate
    return None


def _find_headline(lines: list[Block], start: int, hint: str | None) -> int:
    """Index of the headline: the line equal to the page title, else the first heading
    after "Back Blog Home" that is not the blog's own name."""
    if hint:
        folded = hint.casefold()
        for i in range(start, len(lines)):
            if lines[i].text.casefold() == folded:
                return i
    for i in range(start, len(lines)):
        b = lines[i]
        if b.tag in _HEADINGS and not _SITE_TITLES.match(b.text) and not _TAGLINE.match(b.text):
            return i
    return -1


def _cut_trafilatura(paragraphs: list[str], title: str, card: ListingItem) -> list[str]:
    out: list[str] = []
    for p in paragraphs:
        if _STOP.match(p):
            if out:
                break
            continue
        if p == title or _BACK.match(p) or _TAGLINE.match(p) or _SITE_TITLES.match(p):
            continue
        if (m := _META_LINE.match(p)) and not out:
            _apply_meta(card, m)
            continue
        out.append(p)
    return out


def _tags(lines: list[Block], stop: int) -> list[str]:
    for i in range(stop, len(lines)):
        b = lines[i]
        if not re.match(r"^Tags?\s*:", b.text, re.I):
            continue
        rest = b.text.split(":", 1)[1].strip()
        links = [clean_line(a.text()) for a in b.node.css("a")] if b.node.tag != "body" else []
        if links and rest:
            return links
        if rest:
            return _split_tags(rest)
        # "Tags:" alone, the tags follow as their own short lines.
        found = []
        for nxt in lines[i + 1:i + 20]:
            if _STOP.match(nxt.text) or len(nxt.text) > 40:
                break
            found.extend(_split_tags(nxt.text))
        return found
    return []


def _split_tags(text: str) -> list[str]:
    # Split, then strip: \s*[,;，]\s* would be tried at every space of a long run.
    return [t for t in (part.strip() for part in _TAG_SEPARATOR.split(text)) if t]


def _clean_body(lines: list[str]) -> tuple[list[str], str | None]:
    """Drop bare image file names, turn Word's "u " bullets into "• ", and take a closing
    "Source: Xinhua" line as the wire source rather than text."""
    out = [_WORD_BULLET.sub("• ", line) for line in lines if not _IMAGE_NAME.match(line)]
    if out and (m := SOURCE_LINE.match(out[-1])):
        out.pop()
        return out, m.group(1)
    return out, None
