"""Global Times (www.globaltimes.cn): its China and Business sections, of which only IP
stories are kept.

Seen in crawler code: section pages /<section>/index.html (about 250 links each; no
pagination, sitemap.xml holds a dozen items), articles /page/YYYYMM/<id>.shtml (before 2021
/content/<id>.shtml), `div.article_title`, `a.author_name`, `span.pub_time` "Published:
Sep 25, 2026 11:28 PM", and `div.article_content`, whose paragraphs are separated by
<br><br> only (the block reader ends a line at every <br>). The card markup is a guess.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from ipnews.sources import register
from ipnews.sources.base import Cards, Fields, Source

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

    from ipnews.article import Article

# People are authors; the paper itself and the agencies it runs are the wire.
_OUTLETS = re.compile(r"^(?:global times|gt|gt staff reporters?|xinhua|reuters|afp|ap|"
                      r"associated press|cgtn|china daily|chinadaily\.com\.cn|people's daily)$",
                      re.I)
_AGENCIES = re.compile(r"^(?:xinhua|reuters|afp|ap|associated press|cgtn)$", re.I)


@register
class GlobalTimes(Source):
    name = "globaltimes"
    title = "Global Times"
    home = "https://www.globaltimes.cn"
    hosts = frozenset({"www.globaltimes.cn", "globaltimes.cn"})
    article_path = re.compile(r"/page/\d{6}/\d{1,10}\.shtml|/content/\d{1,10}\.shtml")
    ip_only = True
    options: ClassVar[dict[str, Any]] = {"sections": ["china", "business"]}
    section_page = "{}/index.html"
    cards = Cards(card="div.list_info", link=("a.new_title_ms[href]", "a[href]"),
                  title=("a.new_title_ms",), published=(".source_time",),
                  date_formats=("%Y/%m/%d %H:%M:%S",))
    fields = Fields(
        title=("div.article_title", "meta:og:title"),
        published=("span.pub_time",), date_formats=("Published: %b %d, %Y %I:%M %p",),
        authors=("a.author_name",), section=("div.article_column",),
        body=("div.article_content",), boilerplate=".picture, .pic_caption, center p",
        no_generic=frozenset({"summary", "tags", "editor", "authors", "wire_source"}),
    )


    def parse_date(self, value: str | None, formats: tuple[str, ...] = ()) -> str | None:
        # "By Global Times | 2026/11/20 21:48:40" on a card: the date is after the bar.
        if value and "|" in value:
            value = value.rsplit("|", 1)[1]
        return super().parse_date(value, formats)

    def refine(self, article: Article, tree: LexborHTMLParser) -> Article:
        people = [a for a in article.authors if not _OUTLETS.match(a)]
        agencies = [a for a in article.authors if _AGENCIES.match(a)]
        article.authors = people
        article.wire_source = agencies[0] if agencies else None
        return article
