"""Discovery from feeds and sitemaps (ipnews.discovery): the hand-written documents in
fixtures/discovery/, the encodings and dates real feeds get wrong, and hostile documents
(H2: XML bombs, XXE, a gzip bomb, a sitemap index that lists itself) built here."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, child_env
from hostile import HostileServer
from ipnews.discovery import (
    MAX_FEED_BYTES,
    MAX_ITEMS,
    MAX_URL,
    Found,
    feed_links,
    is_stale,
    looks_like_feed,
    parse_feed,
    parse_sitemap,
)
from ipnews.errors import ExtractError

DOCS = FIXTURES / "discovery"
FEED = "https://blog.example.com/feed/"
SITEMAP = "https://www.example.com/sitemap.xml"


def doc(name: str) -> bytes:
    return (DOCS / name).read_bytes()


def rss(items: str, declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (f'{declaration}\n<rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>").encode()


def item(link: str = "https://a.example/1", **fields: str) -> str:
    return "<item>" + f"<link>{link}</link>" + "".join(
        f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</item>"


def refused(parse, body: bytes, url: str = FEED) -> ExtractError:
    """The ExtractError parse raises on body, which must come within two seconds."""
    start = time.perf_counter()
    with pytest.raises(ExtractError) as caught:
        parse(body, url)
    assert time.perf_counter() - start < 2
    return caught.value


# --- feeds -------------------------------------------------------------------------------
def test_rss2_feed_gives_items_newest_first_with_their_fields():
    found = parse_feed(doc("rss2.xml"), FEED)
    assert found.kind == "rss" and found.more == []
    assert [i.url for i in found.items] == [
        "https://blog.example.com/2024/05/cnipa-annual-report/",
        "https://blog.example.com/2024/05/spc-punitive-damages-guidance/",
        "https://blog.example.com/2024/05/ningbo-customs-sneakers/",  # <guid> permalink
        "https://blog.example.com/2024/05/relative-link/",  # joined to the feed's URL
    ]  # neither the item whose guid is "4199" nor the javascript: link
    cnipa, spc, customs, _ = found.items
    assert found.newest == cnipa.published_at == "2024-05-10T09:05:00+08:00"
    assert spc.published_at == "2024-05-09T22:30:00+08:00"  # +0000 in the feed
    assert spc.title == "SPC Publishes Guidance on Punitive Damages in Trademark Cases"
    assert spc.authors == ["Jane Example"] and spc.section == "Trademarks"
    assert spc.summary.startswith("The Supreme People’s Court has released guidance on")
    assert "<" not in spc.summary and len(spc.summary) <= 301
    assert cnipa.summary == ("CNIPA’s annual report shows more invention patents granted & "
                             "fewer utility models.")
    assert customs.authors == []  # an e-mail address is not a name
    assert customs.summary == "Short plain description: 5 < 6."


def test_rss1_rdf_feed():
    found = parse_feed(doc("rss1.rdf"), "https://news.example.org/ip/rss.rdf")
    assert found.kind == "rss"
    first, second = found.items
    assert first.url == "https://news.example.org/ip/2024/0503/c1-102.html"
    assert first.published_at == "2024-05-03T09:00:00+08:00"  # 01:00Z
    assert (first.authors, first.section) == (["Zhao Example"], "Patents")
    assert second.published_at == "2024-05-02T16:20:00+08:00"
    assert second.summary == "Registrations of computer software copyrights grew again."


def test_atom_feed_xml_base_several_authors_html_title_and_id_as_link():
    found = parse_feed(doc("atom.xml"), "https://law.example.net/atom.xml")
    assert found.kind == "atom"
    by_url = {i.url: i for i in found.items}
    entry = by_url["https://law.example.net/articles/2024/trade-secret-damages"]
    assert entry.title == "Trade secret damages doubled on appeal"
    assert entry.published_at == "2024-05-06T09:30:00+08:00"  # <published>, not <updated>
    assert entry.authors == ["Chen Example", "Sam Example"]
    assert entry.section == "Trade Secrets"
    assert entry.summary == "The appellate court found the misappropriation wilful."
    only_id = by_url["https://law.example.net/articles/2024/id-only"]
    assert only_id.published_at == "2024-05-07T08:00:00+08:00"  # no zone: Shanghai time
    assert found.newest == only_id.published_at


CHINESE_TITLES = ["海关查获侵权商品 朱镕基题词展览相关仿冒品被扣",
                  "国家知识产权局发布商标侵权判断标准", "最高法发布知识产权典型案例"]


@pytest.mark.parametrize("declared, codec", [
    ("gb2312", "gb18030"),  # what it says (镕 is GBK, beyond GB2312: read as GB18030)
    ("gb2312", "utf-8"),  # a UTF-8 copy that kept its GB2312 declaration
    ("utf-8", "gb18030"),  # GBK bytes declared UTF-8: feedparser alone gives cp1252 mojibake
    ("gbk", "utf-8"),  # UTF-8 declared GBK: feedparser alone gives the wrong hanzi
])
def test_chinese_feed_comes_out_right_whatever_its_declaration_says(declared, codec):
    text = doc("chinese.xml").decode("utf-8").replace('encoding="gb2312"',
                                                      f'encoding="{declared}"')
    found = parse_feed(text.encode(codec), "http://ip.example.cn/rss.xml")
    assert [i.title for i in found.items] == CHINESE_TITLES
    latest = found.items[0]
    assert latest.section == "海关保护"
    assert latest.summary == "宁波海关查获一批侵犯注册商标专用权的货物。"
    assert found.items[1].authors == ["示例网-知识产权频道"]


def test_chinese_feed_dates_are_shanghai_time():
    found = parse_feed(doc("chinese.xml"), "http://ip.example.cn/rss.xml")
    assert [i.published_at for i in found.items] == [
        "2024-05-09T16:40:00+08:00",  # "CST": China Standard Time, not US Central
        "2024-05-08T10:15:00+08:00",  # no zone (feedparser alone: 10:15 UTC)
        "2024-05-07T09:00:00+08:00",  # 2024/05/07 (feedparser alone: 1 November)
    ]


@pytest.mark.parametrize("date, expected", [
    ("Wed, 01 May 2024 10:00:00 +0800", "2024-05-01T10:00:00+08:00"),
    ("Wed, 01 May 2024 02:00:00 GMT", "2024-05-01T10:00:00+08:00"),
    ("Wed, 01 May 2024 10:00:00", "2024-05-01T10:00:00+08:00"),
    ("Wed May 01 10:00:00 CST 2024", "2024-05-01T10:00:00+08:00"),  # Java's Date.toString
    ("2024-05-01T02:00:00Z", "2024-05-01T10:00:00+08:00"),
    ("2024-05-01", "2024-05-01T00:00:00+08:00"),
    ("2024-5-1 10:00", "2024-05-01T10:00:00+08:00"),
    ("2024年5月1日 10:00", "2024-05-01T10:00:00+08:00"),
    ("2569-05-01 10:00:00", None),  # a Buddhist-era year: in the future, so not trusted
    ("9999-12-31T23:59:59-12:00", None),
    ("0001-01-01T00:00:00+14:00", None),  # no UTC equivalent
    ("yesterday", None),
    ("Wed, 31 Feb 2024 10:00:00 GMT", None),
])
def test_feed_dates(date, expected):
    found = parse_feed(rss(item(pubDate=date)), FEED)
    assert found.items[0].published_at == expected
    assert found.newest == expected


def test_an_empty_feed_is_a_feed_and_an_html_page_is_not():
    assert parse_feed(rss(""), FEED) == Found([], [], None, "rss")
    page = b"<!DOCTYPE html><html><head><title>x</title></head><body><p>hi</p></body></html>"
    assert refused(parse_feed, page).kind == "not_feed"
    for body in (b"", b"   ", b"\x00\x01\x02", b"hello world", b"%PDF-1.7 ...",
                 gzip.compress(rss(item()))):
        assert refused(parse_feed, body).kind == "not_feed"


def test_a_malformed_feed_keeps_what_was_parsed():
    junk = b"Warning: something in /var/www/feed.php on line 12\n" + rss(
        item("https://a.example/1", title="AT&T and P&G"), declaration="")
    found = parse_feed(junk, FEED)
    assert [(i.url, i.title) for i in found.items] == [("https://a.example/1", "AT&T and P&G")]
    cut = rss(item("https://a.example/1") + item("https://a.example/2")).rsplit(b"</item>", 1)[0]
    assert [i.url for i in parse_feed(cut, FEED).items] == ["https://a.example/1",
                                                           "https://a.example/2"]


def test_bare_ampersands_are_characters_and_cdata_is_left_alone():
    feed = rss(item("https://a.example/?a=1&b=2", title="Q&A: P&G &amp; AT&T &#x26; &#38;",
                    description="<![CDATA[R&D &amp; M&A]]>"))
    entry = parse_feed(feed, FEED).items[0]
    assert (entry.url, entry.title) == ("https://a.example/?a=1&b=2", "Q&A: P&G & AT&T & &")
    assert entry.summary == "R&D & M&A"  # HTML in CDATA: its &amp; is HTML's
    sitemap = b"<urlset><url><loc>https://a.example/?a=1&b=2</loc></url>" \
              b"<url><loc>https://a.example/?a=1&amp;c=3</loc></url></urlset>"
    assert [i.url for i in parse_sitemap(sitemap, SITEMAP).items] == [
        "https://a.example/?a=1&b=2", "https://a.example/?a=1&c=3"]


def test_blank_lines_bom_and_control_characters_before_and_in_a_feed():
    body = b"\xef\xbb\xbf\n\n  " + rss(item(title="Ti\x01tle \x1b[31mred"))
    assert parse_feed(body, FEED).items[0].title == "Title [31mred"


def test_feed_urls_are_http_absolute_bounded_and_once_each():
    long_url = "https://a.example/" + "x" * MAX_URL
    body = rss(item("https://a.example/1", title="first") + item(long_url)
               + item("mailto:x@a.example") + item("data:text/html,hi") + item("http://[::1")
               + item("https://a.example/1", title="again") + item("/2") + item(" "))
    found = parse_feed(body, "https://host.example/feed?format=rss")
    assert [(i.url, i.title) for i in found.items] == [("https://a.example/1", "first"),
                                                       ("https://host.example/2", None)]


def test_H2_a_feed_with_a_dtd_is_refused():
    netscape = (b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD'
                b' RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
                + rss(item()).split(b"\n", 1)[1])
    error = refused(parse_feed, netscape)
    assert error.kind == "bad_xml"
    assert str(error) == "feed refused: it declares a DTD (XML bomb protection)"


def test_a_feedparser_crash_is_an_extract_error():
    # Found by the fuzz test below: feedparser splits namespaced names on any white space,
    # and a namespace URI holding a no-break space gives it three parts (ValueError).
    body = rss('<item xmlns:x="urn:a\u00a0b"><link>https://a.example/1</link><x:y>1</x:y></item>')
    error = refused(parse_feed, body)
    assert (error.kind, str(error)) == ("not_feed", "not a feed: feedparser failed (ValueError)")


def test_a_feed_too_large_is_refused_before_parsing():
    body = rss(item() * 10).replace(b"<title>t</title>", b" " * MAX_FEED_BYTES)
    assert refused(parse_feed, body).kind == "too_large"


def test_a_200_item_feed_parses_quickly():
    entries = "".join(item(f"https://a.example/{n}", title=f"Story {n} 商标",
                           pubDate=f"Wed, 01 May 2024 {n % 24:02d}:{n % 60:02d}:00 +0800",
                           description="&lt;p&gt;" + "Text of the story. " * 50 + "&lt;/p&gt;")
                      for n in range(200))
    start = time.perf_counter()
    found = parse_feed(rss(entries), FEED)
    assert time.perf_counter() - start < 3
    assert len(found.items) == 200
    dates = [i.published_at for i in found.items]
    assert dates == sorted(dates, reverse=True)


# --- sitemaps ----------------------------------------------------------------------------
def test_sitemap_index_gives_children_newest_first():
    found = parse_sitemap(doc("sitemap-index.xml"), "https://www.example.com/sitemap_index.xml")
    assert found.kind == "sitemapindex" and found.items == []
    assert found.more == ["https://www.example.com/sitemaps/news.xml",
                          "https://www.example.com/sitemaps/2024-05.xml.gz",
                          "https://www.example.com/sitemaps/2024-04.xml.gz",
                          "https://www.example.com/sitemaps/tags.xml?page=2"]
    assert found.newest == "2024-05-10T08:15:00+08:00"


def test_news_sitemap_titles_and_publication_dates():
    found = parse_sitemap(doc("news-sitemap.xml"), "https://www.example.com/sitemaps/news.xml")
    assert found.kind == "news-sitemap"
    assert [(i.url, i.title, i.published_at) for i in found.items] == [
        ("https://www.example.com/news/metro/2405091111/", "海关查获假冒运动鞋",
         "2024-05-09T00:00:00+08:00"),
        # publication_date, not the later lastmod; not the image's title
        ("https://www.example.com/news/nation/2405081234/",
         'Shanghai court rules on "copycat" tea brand', "2024-05-08T15:25:00+08:00"),
        ("https://www.example.com/news/biz/2405070042/", "Patent pool for 5G licensing expands",
         "2024-05-07T09:30:00+08:00"),
    ]
    assert found.newest == "2024-05-09T00:00:00+08:00"


URLSET = [("https://www.example.com/2024/05/03/third-story.html", "2024-05-03T10:00:00+08:00"),
          ("https://www.example.com/2024/05/02/second-story.html", "2024-05-02T17:00:00+08:00"),
          ("https://www.example.com/2024/05/01/first-story.html", "2024-05-01T00:00:00+08:00"),
          ("https://www.example.com/about/", None),
          ("https://www.example.com/search?q=a&page=2", None)]


@pytest.mark.parametrize("url", ["https://www.example.com/sitemaps/2024-05.xml.gz",
                                 "https://www.example.com/sitemaps/2024-05.xml?x=1",
                                 "https://www.example.com/sitemaps/2024-05"])
@pytest.mark.parametrize("gzipped", [True, False])
def test_urlset_gzipped_or_not_whatever_its_name(url, gzipped):
    body = doc("urlset.xml")
    found = parse_sitemap(gzip.compress(body) if gzipped else body, url)
    assert found.kind == "sitemap" and found.more == []
    # lastmod as the date, newest first; no image or video URL taken for a page, no title
    assert [(i.url, i.published_at) for i in found.items] == URLSET
    assert all(i.title is None for i in found.items)
    assert found.newest == "2024-05-03T10:00:00+08:00"


def test_gzip_with_several_members_a_cut_and_a_size_cap():
    body = doc("urlset.xml")
    half = len(body) // 2
    members = gzip.compress(body[:half]) + gzip.compress(body[half:])
    assert [i.url for i in parse_sitemap(members, SITEMAP).items] == [u for u, _ in URLSET]
    cut = gzip.compress(body)[:-100]  # a download cut short: the first entries still count
    assert 0 < len(parse_sitemap(cut, SITEMAP).items) < len(URLSET)
    corrupt = bytearray(gzip.compress(body))
    corrupt[40:60] = bytes(20)  # the entries come after the comment this breaks
    assert refused(parse_sitemap, bytes(corrupt)).kind == "not_sitemap"
    for small in (body, gzip.compress(body)):
        with pytest.raises(ExtractError) as caught:
            parse_sitemap(small, SITEMAP, max_bytes=1000)
        assert caught.value.kind == "too_large"


def test_sitemap_without_namespace_and_with_a_dtd():
    plain = (b"<urlset><url><loc>https://a.example/1</loc><lastmod>2024-05-01</lastmod></url>"
             b"<url><loc>/2</loc></url></urlset>")
    found = parse_sitemap(plain, "https://a.example/sitemap.xml?page=3")
    assert [i.url for i in found.items] == ["https://a.example/1", "https://a.example/2"]
    error = refused(parse_sitemap, b"<!DOCTYPE urlset>" + plain)
    assert (error.kind, str(error)) == ("bad_xml",
                                        "sitemap refused: it declares a DTD (XML bomb protection)")


def test_what_is_not_a_sitemap():
    for body in (doc("rss2.xml"), b"<html><body>Not found</body></html>", b"", b"\x89PNG....",
                 b"<urlset><url><loc>https://a.example/1"):
        assert refused(parse_sitemap, body).kind == "not_sitemap"
    assert parse_sitemap(b"<urlset/>", SITEMAP) == Found([], [], None, "sitemap")


def test_a_sitemap_cut_short_keeps_its_first_entries():
    body = doc("urlset.xml")
    cut = body[:body.index(b"<loc>https://www.example.com/about/")]
    assert [i.url for i in parse_sitemap(cut, SITEMAP).items] == [u for u, _ in URLSET[:3]]


def test_a_10mb_sitemap_of_50000_urls_parses_quickly_and_is_capped():
    entries = "".join(f"<url><loc>https://www.example.com/news/2024/{n:06d}/a-long-slug-about-"
                      f"intellectual-property-{n}.html</loc><lastmod>2024-05-{1 + n % 28:02d}"
                      f"T10:00:00+08:00</lastmod><changefreq>daily</changefreq>"
                      f"<priority>0.5</priority></url>\n" for n in range(MAX_ITEMS + 5))
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">\n{entries}</urlset>').encode()
    assert len(body) > 10_000_000
    start = time.perf_counter()
    found = parse_sitemap(body, SITEMAP)
    assert time.perf_counter() - start < 10  # about 1 s on a quiet machine
    assert len(found.items) == MAX_ITEMS
    assert found.items[0].published_at == found.newest == "2024-05-28T10:00:00+08:00"


def test_sitemap_urls_are_bounded():
    long_url = "https://a.example/" + "x" * MAX_URL
    body = (f"<urlset><url><loc>{long_url}</loc></url><url><loc>javascript:x()</loc></url>"
            "<url><loc>https://a.example/ok</loc></url><url><lastmod>2024-01-01</lastmod></url>"
            "</urlset>").encode()
    assert [i.url for i in parse_sitemap(body, SITEMAP).items] == ["https://a.example/ok"]


# --- H2: hostile XML ----------------------------------------------------------------------
LOL9 = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        + "".join(f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n'
                  for n in range(1, 10))
        + "]>\n")
QUADRATIC = ('<?xml version="1.0"?>\n<!DOCTYPE bomb [\n <!ENTITY a "' + "A" * 50_000
             + '">\n]>\n')


def hostile(prolog: str, reference: str, kind: str = "feed") -> bytes:
    if kind == "feed":
        return (prolog + f'<rss version="2.0"><channel><item><title>{reference}</title>'
                "<link>https://a.example/1</link></item></channel></rss>").encode()
    return (prolog + f"<urlset><url><loc>https://a.example/{reference}</loc></url>"
            "</urlset>").encode()


def xxe(target: str) -> str:
    return f'<?xml version="1.0"?>\n<!DOCTYPE r [\n <!ENTITY xxe SYSTEM "{target}">\n]>\n'


BOMBS = {
    "lol9": (LOL9, "&lol9;"),
    "quadratic": (QUADRATIC, "&a;" * 50_000),
    "xxe_file": (xxe("file:///etc/hostname"), "&xxe;"),
    "parameter_entity": ('<?xml version="1.0"?>\n<!DOCTYPE r [\n <!ENTITY % p SYSTEM '
                         '"file:///etc/hostname">\n %p;\n]>\n', "x"),
}


@pytest.mark.parametrize("name", BOMBS)
@pytest.mark.parametrize("kind", ["feed", "sitemap"])
def test_H2_entity_bombs_and_xxe_are_refused_at_once(name, kind):
    prolog, reference = BOMBS[name]
    parse = parse_feed if kind == "feed" else parse_sitemap
    error = refused(parse, hostile(prolog, reference, kind))
    assert error.kind == "bad_xml"
    assert str(error) == f"{kind} refused: it declares entities (XML bomb protection)"


def test_H2_xxe_never_reads_the_file_nor_fetches_the_url():
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() \
        else socket.gethostname()
    with HostileServer() as server:
        for target in ("file:///etc/hostname", f"{server.url}/entity"):
            for parse, kind in ((parse_feed, "feed"), (parse_sitemap, "sitemap")):
                error = refused(parse, hostile(xxe(target), "&xxe;", kind))
                assert error.kind == "bad_xml" and hostname not in str(error)
        dtd = f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{server.url}/dtd">\n'
        assert refused(parse_feed, hostile(dtd, "x")).kind == "bad_xml"
        assert server.requests == 0


def test_H2_entities_in_a_malformed_prolog_are_refused():
    # Text before the declaration: expat stops there, and feedparser's lenient parser would
    # keep the "safe" entity (a quadratic blowup) if nothing looked for it.
    prolog, reference = BOMBS["quadratic"]
    body = b"Warning: x\n" + hostile(prolog, reference)
    error = refused(parse_feed, body)
    assert (error.kind, str(error)) == ("bad_xml",
                                        "feed refused: it declares entities (XML bomb protection)")
    assert refused(parse_feed, body.replace(b"<!ENTITY", b"<!entity")).kind == "bad_xml"
    two_doctypes = b"x\n" + b"<!DOCTYPE a>\n" * 50_000 + rss(item()).split(b"\n", 1)[1]
    assert refused(parse_feed, two_doctypes).kind == "bad_xml"


def test_H2_blank_lines_before_the_root_take_linear_time():
    # feedparser's `^\s*<!ENTITY` scan of the prolog took 40 s on 100 KB of newlines.
    body = rss(item(), declaration='<?xml version="1.0"?>' + "\n" * 500_000 + "<!-- c -->"
               + " \n" * 100_000)
    start = time.perf_counter()
    assert [i.url for i in parse_feed(body, FEED).items] == ["https://a.example/1"]
    assert time.perf_counter() - start < 2


def gzip_bomb(size: int = 100 * 1024 * 1024) -> bytes:
    """size bytes of zeros, gzipped (about 100 KB), built without holding them."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    return b"".join(deflate.compress(zeros) for _ in range(size // len(zeros))) + deflate.flush()


def test_H2_a_gzip_bomb_is_refused_as_too_large():
    bomb = gzip_bomb()
    assert len(bomb) < 200_000
    assert refused(parse_sitemap, bomb, "https://a.example/sitemap.xml.gz").kind == "too_large"


def test_H2_a_sitemap_index_that_lists_itself():
    url = "https://a.example/sitemap_index.xml"
    body = (f"<sitemapindex><sitemap><loc>{url}</loc></sitemap><sitemap><loc>/other.xml</loc>"
            f"</sitemap><sitemap><loc>{url}</loc></sitemap></sitemapindex>").encode()
    # The index itself is left out; one that names itself in another spelling (or two
    # indexes that name each other) is for the caller's seen-set and depth cap.
    assert parse_sitemap(body, url).more == ["https://a.example/other.xml"]


# The child reports how much its resident memory grew while each document was parsed. The
# peak (VmHWM) is first reset to the current size (clear_refs 5), so that neither the
# interpreter's start nor pytest's size (inherited through fork) hides the growth; without
# /proc, ru_maxrss before and after is the measure.
MEMORY_CHILD = r"""
import json, resource, sys, time, zlib
from ipnews.discovery import parse_feed, parse_sitemap
from ipnews.errors import ExtractError

def kb(key):
    try:
        with open("/proc/self/status") as status:
            return int(next(l for l in status if l.startswith(key + ":")).split()[1])
    except (OSError, StopIteration):
        usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return usage // 1024 if sys.platform == "darwin" else usage

def gzip_bomb(size=100 * 1024 * 1024):
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    return b"".join(deflate.compress(zeros) for _ in range(size // len(zeros))) + deflate.flush()

cases = json.load(sys.stdin)
bodies = {name: (parse_feed if kind == "feed" else parse_sitemap, body.encode())
          for name, (kind, body) in cases.items()}
bodies["gzip_bomb"] = (parse_sitemap, gzip_bomb())
parse_feed(b'<rss version="2.0"><channel><item><link>http://a/</link></item></channel></rss>',
           "http://a/")  # imports feedparser and defusedxml before anything is measured
parse_sitemap(b"<urlset/>", "http://a/")
out = {}
for name, (parse, body) in bodies.items():
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    before, start = kb("VmRSS"), time.perf_counter()
    try:
        parse(body, "https://a.example/x.xml")
        kind = None
    except ExtractError as exc:
        kind = exc.kind
    out[name] = {"kind": kind, "seconds": time.perf_counter() - start,
                 "growth_mb": (kb("VmHWM") - before) / 1024}
print(json.dumps(out))
"""


def test_H2_bombs_are_refused_quickly_in_bounded_memory():
    cases = {f"{name}_{kind}": (kind, hostile(*BOMBS[name], kind).decode())
             for name in BOMBS for kind in ("feed", "sitemap")}
    proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=120, env=child_env())
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert set(report) == {*cases, "gzip_bomb"}
    for name, result in report.items():
        assert result["kind"] == ("too_large" if name == "gzip_bomb" else "bad_xml"), name
        assert result["seconds"] < 5, (name, result)
        assert result["growth_mb"] < 100, (name, result)


# --- detection ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rss2.xml", "rss1.rdf", "atom.xml", "chinese.xml"])
def test_looks_like_feed_on_feeds(name):
    body = doc(name)
    assert looks_like_feed(body, None)
    assert looks_like_feed(body, "text/html")  # the root element decides
    assert looks_like_feed(body.decode("utf-8").encode("utf-16"), None)  # with a BOM


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><head></head><body></body></html>",
    b'<?xml version="1.0"?><urlset><url><loc>https://a.example/</loc></url></urlset>',
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF>',
    b'{"version": "https://jsonfeed.org/version/1.1"}',
])
def test_looks_like_feed_on_what_is_not_a_feed(body):
    assert not looks_like_feed(body, "application/rss+xml; charset=utf-8")


def test_looks_like_feed_falls_back_on_the_content_type():
    unknown = b"<!-- " + b"x" * 10_000
    assert looks_like_feed(unknown, "application/atom+xml")
    assert looks_like_feed(unknown, "Application/RSS+XML; charset=gbk")
    assert not looks_like_feed(unknown, "text/xml")
    assert not looks_like_feed(unknown, None)


def test_feed_links_anywhere_in_the_page():
    html = """<!DOCTYPE html><html><head><base href="https://www.example.com/news/">
    <link rel="alternate" type="application/rss+xml" title="RSS" href="feed.xml">
    <link rel="alternate" type="application/json" href="feed.json">
    <link rel="stylesheet" type="text/css" href="a.css">
    </head><body>
    <link rel="Alternate home" type="Application/Atom+XML" href="https://www.example.com/atom">
    <link rel="alternate" type="application/rss+xml" href="/news/feed.xml">
    <link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
    <link rel="alternate" type="application/rss+xml">
    <a rel="alternate" type="application/rss+xml" href="/not-a-link-element.xml">x</a>
    </body></html>"""
    assert feed_links(html, "https://www.example.com/page.html") == [
        "https://www.example.com/news/feed.xml", "https://www.example.com/atom"]
    assert feed_links("<p>no feed</p>", "https://www.example.com/") == []


def test_is_stale():
    now = datetime(2024, 5, 10, 12, 0, tzinfo=timezone.utc)
    assert not is_stale(None, 7, now)
    assert not is_stale("2024-05-05T00:00:00+08:00", 7, now)
    assert is_stale("2024-05-03T00:00:00+08:00", 7, now)
    assert is_stale("2018-01-01T00:00:00+08:00", 365, now)
    assert not is_stale("2024-05-03T20:00:00", 7, now)  # naive: Shanghai, 12:00 UTC
    assert is_stale("2024-05-03T19:59:59", 7, now)
    assert is_stale("2024-05-10T10:00:00+08:00", 0, datetime(2024, 5, 10, 10, 0, 1))
    assert not is_stale("not a date", 1, now)
    recent = datetime.now(timezone.utc) - timedelta(hours=1)
    assert not is_stale(recent.isoformat(), 1) and is_stale(recent.isoformat(), 0.01)


def test_the_heavy_parsers_are_imported_only_when_used():
    code = ("import sys, ipnews.discovery\n"
            "print(sorted(m for m in ('feedparser', 'defusedxml') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=child_env())
    assert proc.stdout.strip() == "[]", proc.stderr


# --- fuzzing -------------------------------------------------------------------------------
FIXTURE_DOCS = [doc(p.name) for p in sorted(DOCS.iterdir())]
PIECES = [b"<", b">", b"&", b"&amp;", b";", b'"', b"<!--", b"-->", b"<![CDATA[", b"]]>",
          b"<!DOCTYPE x>", b'<!ENTITY a "b">', b"&a;", b"<?xml version='1.0'?>", b"\x00",
          b"\xff\xfe", b"\xef\xbb\xbf", b"\x1f\x8b", "中文".encode("gbk"), b"\n" * 40,
          b"<item>", b"</item>", b"<entry>", b"<url><loc>", b"</loc></url>", b"<sitemap>",
          b"encoding='gb2312'", b"<link>javascript:", b"<pubDate>2569-01-01</pubDate>"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(FIXTURE_DOCS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        end = draw(st.integers(at, min(len(data), at + 300)))
        op = draw(st.sampled_from(["cut", "insert", "repeat", "replace"]))
        if op == "cut":
            del data[at:end]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(PIECES) | st.binary(max_size=12))
        elif op == "repeat":
            data[at:at] = data[at:end] * draw(st.integers(1, 50))
        else:
            data[at:end] = draw(st.binary(max_size=end - at))
    body = bytes(data)
    return gzip.compress(body)[:draw(st.integers(10, 100_000))] if draw(st.booleans()) \
        else body


def only_extract_errors(body: bytes) -> None:
    for parse in (parse_feed, parse_sitemap):
        start = time.perf_counter()
        try:
            found = parse(body, "https://a.example/x.xml")
        except ExtractError:
            pass
        else:
            assert all(i.url.startswith(("http://", "https://")) and len(i.url) <= MAX_URL
                       for i in found.items)
        assert time.perf_counter() - start < 2
    looks_like_feed(body, "application/rss+xml")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_documents_only_raise_extract_error_and_quickly(body):
    only_extract_errors(body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_raise_extract_error_and_quickly(body):
    only_extract_errors(body)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_feed_links_of_any_text_never_fails(html):
    for link in feed_links(html, "https://a.example/"):
        assert link.startswith(("http://", "https://"))
