"""The Supreme People's Court's IP tribunal (ipc.court.gov.cn, 最高人民法院知识产权法庭), in
Chinese: its news, every item kept.

Only the URLs were seen (listing /zh-cn/news/more-4-15.html, articles
/zh-cn/news/view-<id>.html); the page structure is unknown, so nothing here rests on a class
name: cards are article links with the date beside them, the next page is the link that
says 下一页, and an article is read by the generic extractor (trafilatura, the visible
发布时间/来源 lines) with the 责任编辑 credit taken out of the text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ipnews.sources import register
from ipnews.sources.base import Cards, Fields, Source

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

    from ipnews.article import Article

# The line under the headline: "发布时间：2026-11-20 10:30:00 来源：…" or "来源：… 时间：…".
_INFO_LINE = re.compile(r"(?:发布时间|发布日期|时间|日期)\s?[:：]\s?\d{4}")


@register
class IpCourt(Source):
    name = "ipcourt"
    title = "SPC IP tribunal (最高人民法院知识产权法庭)"
    home = "https://ipc.court.gov.cn"
    hosts = frozenset({"ipc.court.gov.cn"})
    article_path = re.compile(r"/zh-cn/news/view-\d{1,10}\.html")
    language = "zh"
    listings = ("/zh-cn/news/more-4-15.html",)
    cards = Cards(card=None)
    next_by_text = True
    fields = Fields(
        title=(),  # the generic reader's: the page's h1 may be the court's name
        attachments=(".attachments", ".attachment", ".fujian", "[class*=attach]"),
        no_generic=frozenset({"summary", "tags", "section"}),
    )

    def refine(self, article: Article, tree: LexborHTMLParser) -> Article:
        # A court site's <title> names the column and its first <h1> the court: the
        # headline is the line just above the date line, whatever element holds it.
        from ipnews.article import clean_line
        from ipnews.extraction import blocks

        lines = blocks(tree.body)
        for i, line in enumerate(lines[:400]):
            if i and _INFO_LINE.search(line.text) and len(line.text) < 200:
                heading = lines[i - 1].node
                title = clean_line(heading.text(separator=" "))
                if 4 <= len(title) <= 120 and not _INFO_LINE.search(title):
                    article.title = title
                    article.body = "\n\n".join(
                        p for p in article.body.split("\n\n") if p != title)
                # The credited source as printed, the court itself included.
                if m := re.search(r"来源\s?[:：]\s?([^\s【\[|｜]{2,40})", line.text):
                    article.wire_source = m.group(1)
                break
        return article
