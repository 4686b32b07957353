"""Xinhua in English (english.news.cn): its China and Business lists, of which only IP
stories are kept.

Seen (crawler code, 2023 pages of the Chinese site): a hub page (/china/index.htm) embeds
`datasource:<32 hex>`, and the list itself is <dir>/ds_<id>.json with publishUrl,
publishTime, title (up to 1000 items; the RSS feeds stopped in 2018). Articles are
/YYYYMMDD/<32 hex>/c.html: the date is in the URL, the time in `div.header-time`, the text
in `#detailContent`. The English template is taken to be the Chinese one's (a guess).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urljoin

from ipnews.sources import register
from ipnews.sources.base import Fields, ListingItem, ListingPage, Source

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

    from ipnews.article import Article

_DATASOURCE = re.compile(r"datasource\s*[:=]\s*[\"']?([0-9a-f]{32})", re.I)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
MAX_LIST_ITEMS = 2_000  # the lists hold up to 1000


@register
class Xinhua(Source):
    name = "xinhua"
    title = "Xinhua (English)"
    home = "https://english.news.cn"
    hosts = frozenset({"english.news.cn"})
    article_path = re.compile(r"/\d{8}/[0-9a-f]{32}/c\.html")
    ip_only = True
    options: ClassVar[dict[str, Any]] = {"sections": ["china", "business"]}
    section_page = "{}/index.htm"
    fields = Fields(
        title=(".head-line h1 .title", ".head-line h1", "h1"), editor=(".editor",),
        wire_source=("div.source", "meta:source"), body=("#detailContent", "#detail"),
        boilerplate=".pic-caption, .editor, #articleEdit",
        # The date is the URL's and div.header-time's (see refine).
        no_generic=frozenset({"summary", "tags", "authors", "section", "published"}),
    )


    listing_types = ("application/json", "text/json", "application/javascript",
                     "text/javascript")

    def parse_listing(self, html: str, url: str) -> ListingPage:
        """A hub page (its own links, and the JSON list its datasource names next) or the
        JSON list itself."""
        if url.endswith(".json"):
            return ListingPage(self._json_items(html, url))
        page = super().parse_listing(html, url)
        m = _DATASOURCE.search(html[:500_000])
        if m:
            page.more = [self.canonical(f"ds_{m.group(1).lower()}.json", url)]
        return page

    def _json_items(self, text: str, url: str) -> list[ListingItem]:
        try:
            data = json.loads(text.lstrip("\ufeff"))
        except ValueError:
            return []
        records = data.get("datasource") if isinstance(data, dict) else data
        if not isinstance(records, list):
            return []
        items: dict[str, ListingItem] = {}
        for record in records[:MAX_LIST_ITEMS]:
            if not isinstance(record, dict) or not isinstance(record.get("publishUrl"), str):
                continue
            href = self.canonical(urljoin(url, record["publishUrl"]))
            if not self.is_article_url(href) or href in items:
                continue
            title = record.get("title")
            when = record.get("publishTime")
            items[href] = ListingItem(
                url=href, title=title if isinstance(title, str) else None,
                published_at=self.parse_date(when if isinstance(when, str) else None,
                                             ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")),
                origin="json")
        return list(items.values())

    def refine(self, article: Article, tree: LexborHTMLParser) -> Article:
        # The day is the URL's (/20261120/...); div.header-time adds the time. A page
        # without it keeps the URL's day, which the site's own list agrees with.
        from ipnews.metadata import url_date

        day = url_date(article.url)
        header = tree.css_first(".header-time")
        clock = _TIME.search(header.text(separator=" ")) if header is not None else None
        if day is not None and clock:
            h, m, s = clock.group(1), clock.group(2), clock.group(3) or "00"
            article.published_at = f"{day.isoformat()}T{int(h):02d}:{m}:{s}+08:00"
        elif day is not None:
            article.published_at = day.isoformat()
        return article
