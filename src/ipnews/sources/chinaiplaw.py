"""China IP Law Update (chinaiplawupdate.com), a practitioners' blog on WordPress: every
post kept.

Seen: WordPress, posts /YYYY/MM/<slug>/, active in 2026. Guessed: the feed at /feed/ and
a common theme's markup; the fields are read from WordPress's own marks (entry-title,
entry-date, author vcard, rel="category tag", rel="tag"), which every theme keeps, and
the generic reader (JSON-LD, Open Graph) covers a theme that drops them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ipnews.sources import register
from ipnews.sources.base import Fields, Source

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

    from ipnews.article import Article


@register
class ChinaIpLaw(Source):
    name = "chinaiplaw"
    title = "China IP Law Update"
    home = "https://chinaiplawupdate.com"
    hosts = frozenset({"chinaiplawupdate.com", "www.chinaiplawupdate.com"})
    article_path = re.compile(r"/20\d\d/\d\d/[a-z0-9][a-z0-9%_-]{0,200}/")
    trailing_slash = True
    feeds = ("/feed/",)
    fields = Fields(
        title=("h1.entry-title", "meta:og:title"),
        published=("time.entry-date.published@datetime", "meta:article:published_time",
                   "time.entry-date@datetime"),
        authors=(".byline .author a", ".byline .author .fn", ".author.vcard a"),
        section=('.cat-links a[rel~="category"]', 'a[rel="category tag"]'),
        body=("div.entry-content",),
        boilerplate="figcaption, .wp-caption-text, .sharedaddy, #jp-relatedposts, "
                    ".jp-relatedposts, .wp-block-buttons, .addtoany_share_save_container, "
                    ".post-navigation",
        no_generic=frozenset({"summary", "wire_source", "editor", "tags"}),
    )

    def refine(self, article: Article, tree: LexborHTMLParser) -> Article:
        # The post's tags (rel="tag"), which a place could give only one of.
        from ipnews.article import clean_line

        article.tags = [t for a in tree.css('a[rel="tag"]')
                        if (t := clean_line(a.text()))]
        return article
