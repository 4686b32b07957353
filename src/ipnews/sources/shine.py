"""SHINE / Shanghai Daily (www.shine.cn): general news, of which only IP stories are kept.

Structure read off real pages of the 2020 template (see README, "Sources"): articles are
<html id="story">, listings <html id="list">; pages come UTF-8 with a BOM and no charset.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ipnews.article import Article, clean_line, parse_local
from ipnews.errors import ExtractError
from ipnews.extraction import (
    blocks,
    html_language,
    meta,
    parse_html,
    text_of,
    trafilatura_paragraphs,
)
from ipnews.sources import register
from ipnews.sources.base import ListingItem, ListingPage, Source

_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
_VISIBLE_TIME = re.compile(r"(\d{1,2}:\d{2})\s*UTC\+8,\s*(\d{4}-\d{2}-\d{2})")
_SOURCE = re.compile(r"Source:\s*(.*?)\s*(?:Editor:|$)", re.S)
_EDITOR = re.compile(r"Editor:\s*(.*?)\s*$", re.S)
_LIST_MODEL = re.compile(r"RecordCount\s*:\s*(\d+).*?Id\s*:\s*(\d+).*?PageSize\s*:\s*(\d+)", re.S)
# Lines that are never body text, should the selectors miss and trafilatura be used.
_BOILERPLATE = re.compile(
    r"^(Source:|Editor:|Special Reports$|EXPLORE SHINE$|About Us|Copyright|沪ICP|沪公网安备|"
    r"互联网新闻信息服务许可证|Follow Us$)", re.I)


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

    def listing_urls(self) -> list[str]:
        return [f"{self.home}/{s.strip('/')}/" for s in self.settings["sections"]]

    def parse_listing(self, html: str, url: str) -> ListingPage:
        tree = parse_html(html)
        items = []
        for card in tree.css("div.story[data-id]"):
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
        """Pages 2-30 are <section>/list_N.shtml, later ones /model.aspx?pi=N&sid=ID (the
        site's own ListModel.path). list_N pages may be bare fragments without the model,
        so the current page number comes from the URL and the limit from page 1."""
        if count == 0:
            return None
        section_url, page = url, 1
        if m := re.search(r"/list_(\d+)\.shtml$", url):
            section_url, page = url[: m.start()] + "/", int(m.group(1))
        elif "model.aspx" in url:
            return None  # beyond page 30: reached only by --full with the model known
        model = _LIST_MODEL.search(html)
        if model:
            records, _sid, size = (int(g) for g in model.groups())
            if page * size >= records:
                return None
        if page + 1 > 30:
            return None
        return f"{section_url}list_{page + 1}.shtml"

    def extract(self, html: str, url: str) -> Article:
        tree = parse_html(html)
        root = tree.css_first("html")
        if root is not None and root.attributes.get("id") == "list":
            raise ExtractError("a listing page, not an article", kind="no_article")
        title = (text_of(tree, "h1") or meta(tree, "og:title")
                 or (text_of(tree, "title") or "").removesuffix(" - SHINE News"))
        published = parse_local(meta(tree, "ArticlePublishDate"), _DATE_FORMATS)
        if published is None and (m := _VISIBLE_TIME.search(text_of(tree, ".story-info") or "")):
            published = parse_local(f"{m.group(2)} {m.group(1)}", _DATE_FORMATS)
        authors = [clean_line(n.text()) for n in tree.css(".authorList .author span.name")]
        section = meta(tree, "ColumnId")
        if section is None:
            crumbs = tree.css_first("div.category")
            section = " / ".join(clean_line(a.text()) for a in crumbs.css("a")) if crumbs else None
        bottom = text_of(tree, ".story-info-bottom") or ""
        wire_source = m.group(1) if (m := _SOURCE.search(bottom)) else None
        editor = m.group(1) if (m := _EDITOR.search(bottom)) else None
        tags = [t for t in re.split(r"[,，;]", meta(tree, "Keywords") or "") if t.strip()]

        paragraphs = [b.text for b in blocks(tree.css_first("div.content"))]
        extraction = "selectors"
        if not paragraphs:
            extraction = "trafilatura"
            paragraphs = [p for p in trafilatura_paragraphs(html, url)
                          if p != title and not _BOILERPLATE.match(p)]
        return Article(
            source=self.name, url=url, title=title, body="\n\n".join(paragraphs),
            published_at=published, authors=authors, wire_source=wire_source, editor=editor,
            section=section, summary=text_of(tree, ".m-quote .q"), tags=tags,
            language=html_language(tree) or self.language, extraction=extraction,
        )
