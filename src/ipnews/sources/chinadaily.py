"""China Daily in English (www.chinadaily.com.cn): its China and Business sections, of
which only IP stories are kept.

Seen (2019 and 2026 listings, a 2023 article of the Chinese site, whose template the English
one shares): cards `div.tw3_01_2` with `h4 > a` and `<b>2019-01-12 02:06</b>`, pages
`<section>/page_N.html`; articles /a/YYYYMM/DD/WS<24 hex>.html, a long story going on at
..._2.html; the byline "By NAME | China Daily | Updated: ..." in `span.info_l`, the text in
`#Content`. The publishdate meta has carried a Buddhist-era year (2569): the URL's date
wins when they disagree (see Source.extract), then the visible "Updated:" time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from ipnews.sources import register
from ipnews.sources.base import Cards, Fields, Source, card_date, far_from_url_date, read

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

    from ipnews.article import Article

_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
_BY = re.compile(r"^by\s+", re.I)


@register
class ChinaDaily(Source):
    name = "chinadaily"
    title = "China Daily"
    home = "https://www.chinadaily.com.cn"
    hosts = frozenset({"www.chinadaily.com.cn", "chinadaily.com.cn"})
    article_path = re.compile(r"/a/\d{6}/\d{2}/WS[0-9a-f]{24}\.html")
    ip_only = True
    options: ClassVar[dict[str, Any]] = {"sections": ["china", "business"]}
    section_page = "{}/"
    cards = Cards(card="div.tw3_01_2", link=("h4 a[href]", "a[href]"), title=("h4",),
                  published=("b",), date_formats=_DATE_FORMATS)
    next_by_text = True
    fields = Fields(
        title=("h1", "meta:og:title"), published=("meta:publishdate",),
        date_formats=_DATE_FORMATS, body=("#Content", "div.article"),
        boilerplate="#div_currpage, figcaption, .fenx, .pic-caption",
        no_generic=frozenset({"summary", "tags", "editor", "authors", "section"}),
    )


    def more_pages(self, tree: LexborHTMLParser, url: str) -> list[str]:
        # A long story goes on at <id>_2.html, _3.html...: the pager inside the story.
        stem = url.rsplit("/", 1)[-1].removesuffix(".html").split("_")[0]
        found: dict[str, None] = {}
        for a in tree.css("#div_currpage a[href], .currpage a[href], #Content a[href]"):
            href = self.canonical(a.attributes.get("href") or "", url)
            if re.fullmatch(re.escape(stem) + r"_\d{1,2}\.html", href.rsplit("/", 1)[-1]):
                found[href] = None
        return list(found)

    def refine(self, article: Article, tree: LexborHTMLParser) -> Article:
        # "By Ma Si and Fan Feifei | China Daily | Updated: 2026-11-20 08:15": the authors,
        # the outlet or wire, and the time, which stands in for a meta the URL contradicts.
        from ipnews.metadata import clean_authors, url_date

        info = read(tree, None, ("span.info_l", ".info_l", ".info")) or ""
        parts = [p.strip() for p in info.split("|")]
        if parts and _BY.match(parts[0]):
            article.authors = clean_authors(parts[0])
            parts = parts[1:]
        if parts and not parts[0].lower().startswith("updated"):
            article.wire_source = parts[0] or None
        node = tree.css_first('meta[name="publishdate"]')
        stated = self.parse_date(node.attributes.get("content") if node is not None else None)
        if stated is None or far_from_url_date(stated, article.url):
            at = info.lower().find("updated")
            shown = card_date(info[at:]) if at >= 0 else None
            day = url_date(article.url)
            if shown and not far_from_url_date(shown, article.url, days=1):
                article.published_at = shown
            elif day is not None:
                article.published_at = day.isoformat()
        crumbs = [a.text(strip=True) for a in tree.css("div.da-bre a")]
        # The Chinese template puts the ">" inside the link ("王辉 > 海外观察").
        article.section = re.split(r"\s*[>›»]\s*", crumbs[-1])[-1] or None if crumbs else None
        return article
