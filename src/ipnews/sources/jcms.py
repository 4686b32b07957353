"""The JCMS government CMS ("大汉"): CNIPA's two sites, and many provincial IP offices and
ministries, which a user declares with `cms = "jcms"` and their column numbers.

What the CMS gives whatever the template (seen on CNIPA; see README, "Sources"):
- column pages /col/col<N>/index.html, whose list is either rendered HTML or embedded as
  the CMS's XML datastore (<record><![CDATA[<li>...</li>]]></record>) for its script;
- pagination by `?uid=<unit>&pageNum=N` links, or by the data proxy
  /module/web/jpage/dataproxy.jsp?page=N&columnid=..&unitid=.. answering the same XML with
  <totalpage>;
- articles /art/YYYY/M/D/art_<column>_<id>.html with the metas ArticleTitle, pubdate,
  ColumnName, author, contentSource; `Maketime` is when the page was regenerated, never
  the publication date;
- the text between <!--ZJEG_RSS.content.begin--> and <!--ZJEG_RSS.content.end--> (any
  case), on every template seen, while the class names around it differ.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ipnews.sources.base import Fields, ListingItem, ListingPage, Source

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

    from ipnews.article import Article

_BEGIN = re.compile(r"<!--\s*zjeg_rss\.content\.begin\s*-->", re.I)
# What gives a site of the CMS away: its content markers or its data proxy in a page, its
# URLs (a column page, an article, whose name holds its column).
_MARKS = re.compile(r"zjeg_rss\.content|/module/web/jpage/dataproxy\.jsp", re.I)
_ARTICLE = r"/art/\d{4}/\d{1,2}/\d{1,2}/art_(\d{1,9})_\d{1,12}\.html"
_COLUMN_PATH = re.compile(rf"/col/col(\d{{1,12}})/|{_ARTICLE}$")
_ARTICLE_LINK = re.compile(_ARTICLE)
_END = re.compile(r"<!--\s*zjeg_rss\.content\.end\s*-->", re.I)
_TOTAL_PAGES = re.compile(r"<totalpage>\s*(\d{1,6})\s*</totalpage>", re.I)
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
MAX_RECORDS = 2_000  # a column page's datastore holds a few hundred at most


class JcmsSource(Source):
    """A site of the JCMS CMS: a source that sets home, hosts and its default columns."""

    article_path = re.compile(_ARTICLE)
    # The parameters of the CMS's own pagination; anything else is a session or a tracker.
    keep_query = frozenset({"uid", "pageNum", "page", "webid", "path", "columnid", "unitid",
                            "webname", "permissiontype", "appid"})
    options: ClassVar[dict[str, Any]] = {"columns": []}
    listing_types = ("text/xml", "application/xml")  # the data proxy's pages
    fields = Fields(
        # The headline of the two templates seen, before the generic reader's guess.
        title=("meta:ArticleTitle", "div.article h1", "h2.page_title"),
        published=("meta:pubdate", "meta:PubDate"),
        date_formats=_DATE_FORMATS, authors=("meta:author",), section=("meta:ColumnName",),
        wire_source=("meta:contentSource",),
        # Where the markers are missing: the class names of the templates seen.
        body=("div.article-content", "div.page_detail_content", "#zoom", "div.TRS_Editor"),
        # The author meta is the CMS's only byline, and the info line its source: the
        # generic reader would cost more than the page and guess no better.
        no_generic=frozenset({"summary", "tags", "authors"}),
    )

    def listing_urls(self) -> list[str]:
        return [self.canonical(f"{self.home}/col/col{c}/index.html")
                for c in self.settings["columns"]]

    def body_node(self, tree: LexborHTMLParser, html: str) -> LexborNode | None:
        """The text between the CMS's content markers; the template's classes otherwise."""
        from ipnews.extraction import parse_html

        begin = _BEGIN.search(html)
        end = _END.search(html, begin.end()) if begin else None
        if begin and end:
            fragment = parse_html(html[begin.end():end.start()], cleaned=True)
            if fragment.body is not None and fragment.body.text(strip=True):
                return fragment.body
        return super().body_node(tree, html)

    def extract(self, html: str, url: str) -> Article:
        # The info line above the text ("发布时间：… 来源：… 责任编辑：…", "Updated: …
        # Source: CNIPA") sits in a differently named box on each template: it is read as
        # the text just before the content marker, whatever holds it.
        article = super().extract(html, url)
        info = _info_text(html)
        if article.wire_source is None and (m := _SOURCE.search(info)):
            article.wire_source = m.group(1).strip()
        if article.editor is None and (m := _EDITOR.search(info)):
            article.editor = m.group(1).strip()
        return article

    def clean_authors(self, authors: list[str]) -> list[str]:
        # The author meta holds a name, or an office ("办公室"), or nothing.
        from ipnews.metadata import clean_authors

        return [n for a in authors for n in clean_authors(a)
                if not re.search(r"(?:局|司|办公室|中心|处|部|委员会|office|administration)$", n,
                                 re.I)]

    def parse_listing(self, html: str, url: str) -> ListingPage:
        """Cards from the rendered list and from the CMS's embedded datastore alike."""
        from ipnews.extraction import parse_html

        items: dict[str, ListingItem] = {}
        # The records first: parsed as HTML, the datastore's CDATA would lose each link's
        # list item (and the date beside it).
        fragments = ["".join(_records(html)), html]
        for fragment in fragments:
            tree = parse_html(fragment)
            for item in self.cards_near_dates(tree, url):
                items.setdefault(item.url, item)
        next_url = self._next(parse_html(html), html, url) if items else None
        return ListingPage(list(items.values()), next_url)

    def _next(self, tree: LexborHTMLParser, html: str, url: str) -> str | None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        if parts.path.endswith("/dataproxy.jsp"):
            page = _int(query.get("page")) or 1
            total = _TOTAL_PAGES.search(html[:20_000])
            if total is None or page >= int(total.group(1)):
                return None
            return self.canonical(_with(url, page=str(page + 1)))
        if (link := self.next_link(tree, url)) is not None:
            return link
        # The datastore's nextgroup names the data proxy; the column page was its page 1.
        start = html.find("<nextgroup>")
        if start >= 0:
            proxy = re.search(r"href=[\"']([^\"']{1,1000}dataproxy\.jsp\?[^\"']{1,1000})[\"']",
                              html[start:start + 3000])
            total = _TOTAL_PAGES.search(html[start:start + 20_000])
            if proxy and (total is None or int(total.group(1)) > 1):
                return self.canonical(_with(self.canonical(proxy.group(1), url), page="2"))
        return None


# A credit in the info line runs to the next label or the end of the line.
_NEXT_LABEL = (r"(?=\s(?:发布时间|发布日期|时间|日期|来源|作者|责任编辑|浏览次数|字号|"
               r"Updated|Release|Date|Source|Editor|Author|Views)|$)")
_SOURCE = re.compile(r"(?:来源|source)\s?[:：]\s?([^\n]{1,60}?)" + _NEXT_LABEL, re.I | re.M)
_EDITOR = re.compile(r"(?:责任编辑|editor)\s?[:：]\s?([^\n]{1,40}?)" + _NEXT_LABEL, re.I | re.M)


def _info_text(html: str) -> str:
    """The text of the lines just before the content marker: the article's info line."""
    from ipnews.extraction import blocks, parse_html

    begin = _BEGIN.search(html)
    if begin is None:
        return ""
    head = parse_html(html[max(0, begin.start() - 3000):begin.start()], cleaned=True)
    return "\n".join(b.text for b in blocks(head.body)[-6:])


def columns_of(html: str, path: str) -> list[str]:
    """The columns to read on a site of this CMS, given one of its pages: the column its
    path names (a column page or an article), else those its article links name most;
    none when the page is not of this CMS."""
    from collections import Counter

    head = html[:1_000_000]
    named = _COLUMN_PATH.search(path)
    if not (named or _MARKS.search(head)):
        return []
    if named:
        return [named.group(1) or named.group(2)]
    return [c for c, _ in Counter(_ARTICLE_LINK.findall(head)).most_common(3)]


def _records(html: str) -> list[str]:
    """The HTML inside each <record><![CDATA[...]]></record> of a datastore (str.find, not
    a regex: a page of unterminated records must cost one pass)."""
    out: list[str] = []
    at = 0
    while len(out) < MAX_RECORDS:
        record = html.find("<record", at)
        start = html.find("<![CDATA[", record) if record >= 0 else -1
        end = html.find("]]>", start) if start >= 0 else -1
        if end < 0:
            break
        out.append(html[start + 9:end])
        at = end + 3
    return out


def _with(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 7 else None
