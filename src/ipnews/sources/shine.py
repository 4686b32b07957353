"""SHINE / Shanghai Daily (www.shine.cn): general news, of which only IP stories are kept.

Structure read off real pages of the 2020 template (see README, "Sources"): articles are
<html id="story">, listings <html id="list">; pages come UTF-8 with a BOM and no charset.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from ipnews.sources import register
from ipnews.sources.base import Cards, Fields, Source, read

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

    from ipnews.article import Article

_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
_VISIBLE_TIME = re.compile(r"(\d{1,2}:\d{2})\s*UTC\+8,\s*(\d{4}-\d{2}-\d{2})")
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
    section_page = "{}/"
    cards = Cards(card="div.story[data-id]", link=(".list-story a[href]", "a[href]"),
                  title=("h2",), published=("span.story-info-date[data-date]@data-date",),
                  date_formats=_DATE_FORMATS, section=(".category",), summary=(".summary",))
    fields = Fields(
        title=("h1", "meta:og:title"), published=("meta:ArticlePublishDate",),
        date_formats=_DATE_FORMATS, authors=(".authorList .author span.name",),
        section=("meta:ColumnId",), summary=(".m-quote .q",), tags=("meta:Keywords",),
        body=("div.content",), not_article="html#list")

    def canonical(self, href: str, page_url: str | None = None) -> str:
        # The site's query parameters mean something only on its /model.aspx pagination:
        # on an article, ?sid=... would make one story look like several.
        url = super().canonical(href, page_url)
        if "?" in url and urlsplit(url).path != "/model.aspx":
            url = url.split("?", 1)[0]
        return url

    def next_listing(self, tree: LexborHTMLParser, html: str, url: str, count: int
                     ) -> str | None:
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

    def refine(self, article: Article, tree: LexborHTMLParser) -> Article:
        # Three things the description cannot say: the visible "15:25 UTC+8, 2020-02-26"
        # when the date meta is missing, the breadcrumb as the section, and the
        # "Source: Xinhua  Editor: Wang Yi" line, which is metadata, not body text.
        from ipnews.article import clean_line

        if article.published_at is None and (
                m := _VISIBLE_TIME.search(read(tree, None, (".story-info",)) or "")):
            article.published_at = self.parse_date(f"{m.group(2)} {m.group(1)}")
        if article.section is None and (crumbs := tree.css_first("div.category")) is not None:
            article.section = " / ".join(t for a in crumbs.css("a") if (t := clean_line(a.text())))
        bottom = read(tree, None, (".story-info-bottom",)) or ""
        article.wire_source = _after(bottom, "Source:", "Editor:") or None
        article.editor = _after(bottom, "Editor:") or None
        return article

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
