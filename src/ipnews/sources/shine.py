"""SHINE / Shanghai Daily (www.shine.cn): general news, of which only IP stories are kept.

Structure read off real pages of the 2020 template (see README, "Sources"): articles are
<html id="story">, listings <html id="list">; pages come UTF-8 with a BOM and no charset.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from ipnews.article import Article, clean_line, parse_local
from ipnews.errors import ExtractError
from ipnews.extraction import (
    BOILERPLATE,
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

_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
_VISIBLE_TIME = re.compile(r"(\d{1,2}:\d{2})\s*UTC\+8,\s*(\d{4}-\d{2}-\d{2})")
_CARD = "div.story[data-id]"
# One bounded pattern per field (a .*? chain backtracks badly on hostile pages).
_MODEL_FIELDS = {k: re.compile(rf"\b{k}\s*:\s*(\d{{1,9}})") for k in
                 ("RecordCount", "Id", "PageSize")}


@register
class Shine(Source):
    name = "shine"
    title = "SHINE / Shanghai Daily"
    home = "https://www.shine.cn"
    hosts = frozenset({"shine.cn", "www.shine.cn", "m.shine.cn"})
    article_path = re.compile(r"/[a-z][a-z0-9-]*(?:/[a-z][a-z0-9-]*)?/\d{10}/")
    trailing_slash = True
    keep_query = frozenset({"pi", "lan", "sid"})  # /model.aspx pagination beyond page 30
    ip_only = True
    options: ClassVar[dict[str, Any]] = {"sections": ["news/nation", "news/metro", "biz"]}

    def canonical(self, href: str, page_url: str | None = None) -> str:
        # The site's query parameters mean something only on its /model.aspx pagination:
        # on an article, ?sid=... would make one story look like several.
        url = super().canonical(href, page_url)
        if "?" in url and urlsplit(url).path != "/model.aspx":
            url = url.split("?", 1)[0]
        return url

    def listing_urls(self) -> list[str]:
        return [f"{self.home}/{s.strip('/')}/" for s in self.settings["sections"]]

    def parse_listing(self, html: str, url: str) -> ListingPage:
        tree = parse_html(html)
        items = []
        # A card inside a card is part of it: read apart, every level of a nest would read
        # the same innermost headline again (900 levels over 1 MB of text took 18 s).
        nested = {n.mem_id for n in tree.css(f"{_CARD} {_CARD}")}
        for card in tree.css(_CARD):
            if card.mem_id in nested:
                continue
            link = card.css_first(".list-story a[href]") or card.css_first("a[href]")
            if link is None:
                continue
            href = self.canonical(link.attributes.get("href") or "", url)
            if not self.is_article_url(href):
                continue
            date = card.css_first("span.story-info-date[data-date]")
            items.append(ListingItem(
                url=href,
                title=text_of(card, "h2"),
                published_at=parse_local(date.attributes.get("data-date") if date else None,
                                         _DATE_FORMATS),
                section=text_of(card, ".category"),
                summary=text_of(card, ".summary"),
            ))
        return ListingPage(items, self._next_listing(html, url, len(items)))

    def _next_listing(self, html: str, url: str, count: int) -> str | None:
        """The site's own ListModel.path: pages 2-30 are <section>/list_N.shtml, later pages
        /model.aspx?pi=N&lan=common&sid=<section id>. Only page 1 carries the model (list_N
        may be a bare fragment), so its record count and id are remembered per section."""
        if count == 0:
            return None
        parts = urlsplit(url)
        if parts.path == "/model.aspx":
            query = dict(parse_qsl(parts.query))
            sid, page = query.get("sid", ""), int(query.get("pi", "0") or 0)
            section = next((s for s, m in self.listing_memory.items() if str(m[1]) == sid),
                           None)
        elif m := re.search(r"/list_(\d+)\.shtml$", parts.path):
            section, page = url[: url.rindex("/") + 1], int(m.group(1))
        else:
            section, page = url, 1
        start = html.find("ListModel")
        script = html[start:start + 2000] if start >= 0 else ""
        found = [m.group(1) for p in _MODEL_FIELDS.values() if (m := p.search(script))]
        if len(found) == 3:
            records, sid, size = (int(g) for g in found)
            # section -> (record count, section id, page size)
            self.listing_memory[section] = (records, sid, max(size, 1))
        known = self.listing_memory.get(section) if section else None
        if known is not None:
            records, sid_number, size = known
            if page * size >= records:
                return None
            if page + 1 > 30:
                return f"{self.home}/model.aspx?pi={page + 1}&lan=common&sid={sid_number}"
        elif page + 1 > 30:
            return None  # no model seen: we do not know the section id
        return f"{section}list_{page + 1}.shtml"

    def extract(self, html: str, url: str) -> Article:
        tree = parse_html(html)
        root = tree.css_first("html")
        if root is not None and root.attributes.get("id") == "list":
            raise ExtractError("a listing page, not an article", kind="no_article")
        metas = meta_tags(tree)
        title = (text_of(tree, "h1") or meta(metas, "og:title")
                 or (text_of(tree, "title") or "").removesuffix(" - SHINE News"))
        published = parse_local(meta(metas, "ArticlePublishDate"), _DATE_FORMATS)
        if published is None and (m := _VISIBLE_TIME.search(text_of(tree, ".story-info") or "")):
            published = parse_local(f"{m.group(2)} {m.group(1)}", _DATE_FORMATS)
        authors = [clean_line(n.text()) for n in tree.css(".authorList .author span.name")]
        section = meta(metas, "ColumnId")
        if section is None:
            crumbs = tree.css_first("div.category")
            section = " / ".join(clean_line(a.text()) for a in crumbs.css("a")) if crumbs else None
        bottom = text_of(tree, ".story-info-bottom") or ""
        wire_source, editor = _after(bottom, "Source:", "Editor:"), _after(bottom, "Editor:")
        tags = [t for t in re.split(r"[,，;]", meta(metas, "Keywords") or "") if t.strip()]

        paragraphs = [b.text for b in blocks(tree.css_first("div.content"))]
        extraction = "selectors"
        if not paragraphs:
            extraction = "trafilatura"
            paragraphs = [p for p in trafilatura_paragraphs(html, url)
                          if p != title and not BOILERPLATE.match(p)]
        return Article(
            source=self.name, url=url, title=title, body="\n\n".join(paragraphs),
            published_at=published, authors=authors, wire_source=wire_source, editor=editor,
            section=section, summary=text_of(tree, ".m-quote .q"), tags=tags,
            language=html_language(tree) or self.language, extraction=extraction,
        )


def _after(text: str, label: str, until: str | None = None) -> str | None:
    r"""What follows label in "Source: Xinhua Editor: Wang Yi", up to until, or None.

    str.find, not Source:\s*(.*?)\s*(?:Editor:|$): the lazy group retries \s* at every
    character, which is quadratic over a long run of spaces.
    """
    start = text.find(label)
    if start < 0:
        return None
    rest = text[start + len(label):]
    end = rest.find(until) if until else -1
    return (rest[:end] if end >= 0 else rest).strip()
