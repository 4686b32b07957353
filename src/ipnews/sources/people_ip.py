"""People's Daily's IP channel (ip.people.com.cn, 人民网知识产权), in Chinese: every item.

The article template is People's Daily's (seen on a real page of another channel); the
channel's listing layout is a guess, so its cards are read as article links with the date
beside them. Pages declare GB2312: the decoder reads them as GBK (the superset browsers use,
so 王喆 decodes), and copies saved as UTF-8 with that declaration left in are told by their
bytes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ipnews.sources import register
from ipnews.sources.base import Cards, Fields, Source, card_date, read

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

    from ipnews.article import Article

_LABEL = re.compile(r"本报记者|特约记者|见习记者|记者|通讯员|实习生|本报讯|作者")


@register
class PeopleIp(Source):
    name = "people-ip"
    title = "People's Daily: IP channel (人民网知识产权)"
    home = "http://ip.people.com.cn"
    hosts = frozenset({"ip.people.com.cn"})
    article_path = re.compile(r"/n1/\d{4}/\d{4}/c\d{1,9}-\d{1,12}\.html")
    language = "zh"
    listings = ("/index.html",)
    cards = Cards(card=None)
    next_by_text = True
    fields = Fields(
        title=(".rm_txt h1", "h1"), published=("meta:publishdate",),
        editor=(".rm_txt_con .edit", ".edit"), wire_source=("meta:source",),
        summary=(".rm_txt h4.sub",), body=(".rm_txt_con", "#rwb_zw", ".box_con"),
        boilerplate=".edit, .paper_num, .bza, .box_pic, .pictext, .rm_relevant",
        no_generic=frozenset({"tags", "summary", "authors", "section"}),
    )

    def refine(self, article: Article, tree: LexborHTMLParser) -> Article:
        # The channel line "2026年11月20日08:15 | 来源：人民网－人民日报" gives the time the
        # publishdate meta (a bare day) lacks, and the source as printed; the author box
        # names reporters after their labels; the last breadcrumb link is the section.
        from ipnews.article import clean_line

        channel = read(tree, None, (".rm_txt .channel .col-1-1", ".channel", ".box01 .fl")) or ""
        shown = card_date(channel[:200])
        if shown and (article.published_at is None
                      or shown[:10] == article.published_at[:10]):
            article.published_at = shown
        if m := re.search(r"来源[:：]\s?(\S{1,40})", channel):
            article.wire_source = m.group(1)
        byline = read(tree, None, (".rm_txt .author", ".author")) or ""
        article.authors = [n for n in re.split(r"[\s、，,]+", _LABEL.sub(" ", byline))
                           if 2 <= len(n) <= 10] or article.authors
        crumbs = [t for a in tree.css("#rwb_navpath a, .route a") if (t := clean_line(a.text()))]
        # The first link is the site's own name, not a section.
        article.section = crumbs[-1] if len(crumbs) > 1 else None
        return article
