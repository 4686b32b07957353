"""`ipnews sources add`, the library side: probe() against local copies of the fixture
sites in fixtures/probe/ (see its README), and stanza()'s TOML loading back as a source."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import FIXTURES
from server import SiteServer

PROBE = FIXTURES / "probe"
# Each site's canonical origin, replaced in a served copy by the local server's.
ORIGINS = {"wpblog": "https://ipwatch.example", "newsmap": "https://www.bizherald.example",
           "cmslisting": "https://ip.jiangnan.example", "parked": "https://chinaipnews.example"}
FRESH = 0.0  # never stale ([fetch] stale_after = 0): the fixtures' dates stay recent
RETRIAL = "/2026/11/beijing-court-orders-retrial-in-trade-secret-case/"
ROUNDUP = "/2026/11/this-week-in-china-ip-november-23/"
SEIZURES = "/2026/11/shanghai-customs-record-trademark-seizures/"
USUAL_FEEDS = ["/feed/", "/rss.xml", "/atom.xml", "/feed.xml", "/rss/", "/index.xml"]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], SiteServer]]:
    """A fixture site served from a copy whose links lead to the server itself."""
    servers: list[SiteServer] = []

    def start(name: str) -> SiteServer:
        root = tmp_path / name
        shutil.copytree(PROBE / name, root)
        server = SiteServer(root, content_type="text/html; charset=utf-8")
        servers.append(server)
        host = urlsplit(ORIGINS[name]).netloc
        for file in (f for f in root.rglob("*") if f.is_file()):
            text = file.read_text("utf-8").replace(ORIGINS[name], server.url)
            # Protocol-relative links too (//www.bizherald.example/a/...).
            file.write_text(text.replace(f"//{host}", f"//{urlsplit(server.url).netloc}"),
                            "utf-8")
        return server

    yield start
    for server in servers:
        server.close()


def client_for(server: SiteServer, **settings: object):
    from ipnews.client import Client, Settings

    return Client(Settings(allow_private=frozenset({urlsplit(server.url).netloc}), delay=0,
                           backoff=0, **settings))


def run_probe(server: SiteServer, path: str = "/", stale_after: float = FRESH, **kw: object):
    from ipnews.probe import probe
    from ipnews.worker import InProcess

    with client_for(server) as client:
        return probe(server.url + path, client, InProcess(), stale_after=stale_after, **kw)


def test_a_blog_gets_the_feed_its_pages_link_and_a_body_for_what_the_generic_misses(serve):
    """The real extractor process; the newest post is a roundup of links, which the
    generic extractor refuses: the blog's body container reads it, and its share box is
    proposed as boilerplate."""
    from ipnews.probe import WIDGETS, probe
    from ipnews.worker import Extractor

    server = serve("wpblog")
    with client_for(server) as client, Extractor(timeout=30) as extractor:
        proposal = probe(server.url + "/", client, extractor, name="ipwatch", samples=3,
                         stale_after=FRESH)
    assert proposal.name == "ipwatch"
    assert proposal.table == {"title": "China IP Watch", "feed": server.url + "/feed/",
                              "language": "en", "body": "div.entry-content",
                              "boilerplate": WIDGETS}
    assert [s["url"] for s in proposal.samples] == [server.url + p for p in (RETRIAL, ROUNDUP,
                                                                             SEIZURES)]
    first = proposal.samples[0]
    assert first["title"] == "Beijing court orders a retrial in a trade secret case"
    assert first["published_at"] == "2026-11-24T10:00:00+08:00"
    assert first["authors"] == ["Martin Gao"]
    assert all(s["extraction"] == "selectors" and s["error"] is None and s["body_chars"] > 400
               for s in proposal.samples)
    assert any("refused 1 of 3 samples" in n for n in proposal.notes)
    # Politely: the feed was recent, so no comments feed, usual path or sitemap was asked.
    assert server.pages() == ["/", "/feed/", RETRIAL, ROUNDUP, SEIZURES]


@pytest.mark.parametrize("start", ["/", RETRIAL, "/feed/"])
def test_a_home_page_an_article_or_the_feed_itself_lead_to_the_same_feed(serve, start):
    server = serve("wpblog")
    proposal = run_probe(server, start, samples=1)
    assert proposal.table["feed"] == server.url + "/feed/"
    assert proposal.table["title"] == "China IP Watch"  # from the home page, read too
    assert [s["url"] for s in proposal.samples] == [server.url + RETRIAL]
    assert proposal.samples[0]["extraction"] == "trafilatura"  # the generic read it


def test_a_missing_article_is_a_sample_error_and_a_note(serve):
    server = serve("wpblog")
    shutil.rmtree(server.root / ROUNDUP.strip("/"))
    proposal = run_probe(server)
    errors = {s["url"]: s["error"] for s in proposal.samples}
    assert errors[server.url + ROUNDUP] == "could not be fetched (see the notes)"
    assert errors[server.url + RETRIAL] is None
    assert any(n.startswith(f"article {server.url}{ROUNDUP}: ") and "404" in n
               for n in proposal.notes)
    assert "body" not in proposal.table  # nothing the generic extractor refused


def test_a_site_with_only_a_sitemap_in_robots_txt_gets_its_news_sitemap(serve):
    server = serve("newsmap")
    proposal = run_probe(server)
    assert proposal.table == {"title": "Business Herald",
                              "sitemap": server.url + "/sitemap-news.xml", "language": "en"}
    assert [s["published_at"][:10] for s in proposal.samples] == ["2026-11-24", "2026-11-23",
                                                                  "2026-11-20"]
    assert all(s["error"] is None and s["body_chars"] > 400 for s in proposal.samples)
    assert proposal.samples[1]["title"] == "Court fines platform for selling fake tea brands"
    assert any(f"robots.txt names 1 sitemap(s): {server.url}/sitemap.xml" == n
               for n in proposal.notes)
    pages = server.pages()
    assert [p for p in pages if p in USUAL_FEEDS] == USUAL_FEEDS  # each tried once
    assert "/sitemap-archive-2019.xml" not in pages  # the news sitemap was enough


def test_a_stale_feed_loses_to_a_recent_news_sitemap(serve):
    server = serve("newsmap")
    # The site's RSS, like many news sites', stopped being updated years ago.
    (server.root / "rss.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Business Herald</title>'
        f"<item><title>Old story</title><link>{server.url}/a/201912/30/"
        "WS5e09a1b2a310cf3e35581c11.html</link><pubDate>Mon, 30 Dec 2019 10:00:00 +0800"
        "</pubDate></item></channel></rss>", "utf-8")
    since_2024 = float((date.today() - date(2024, 1, 1)).days)
    proposal = run_probe(server, samples=1, stale_after=since_2024)
    assert proposal.table["sitemap"] == server.url + "/sitemap-news.xml"
    assert "feed" not in proposal.table
    assert any(n.startswith(f"feed {server.url}/rss.xml: 1 articles, newest 2019-12-30")
               for n in proposal.notes)
    # Judged recent, the same feed wins and no sitemap is read.
    server.requests.clear()
    assert run_probe(server, samples=0).table["feed"] == server.url + "/rss.xml"
    assert "/sitemap.xml" not in server.pages()


def test_a_column_of_cnipas_cms_is_proposed_as_the_cms_and_its_column(serve):
    from ipnews.sources.declared import declared_class

    server = serve("cmslisting")
    proposal = run_probe(server, "/col/col53/index.html")
    assert proposal.table == {"cms": "jcms", "home": server.url, "columns": ["53"],
                              "title": "江南省知识产权局", "language": "zh"}
    assert [urlsplit(s["url"]).path for s in proposal.samples] == [
        "/art/2026/11/24/art_53_10486.html", "/art/2026/11/20/art_53_10471.html",
        "/art/2026/11/17/art_53_10455.html"]
    assert all(s["error"] is None for s in proposal.samples)
    source = declared_class("jiangnan", proposal.table)(declaration=proposal.table)
    assert source.listing_urls() == [server.url + "/col/col53/index.html"]


def test_a_plain_listing_page_is_proposed_with_the_pattern_of_its_articles(serve, tmp_path):
    from ipnews.sources.declared import declared_class

    server = serve("cmslisting")
    # The same list where no CMS ipnews knows shows: a listing page and its URL pattern.
    (tmp_path / "cmslisting" / "news").mkdir()
    shutil.copy(tmp_path / "cmslisting/col/col53/index.html",
                tmp_path / "cmslisting/news/index.html")
    proposal = run_probe(server, "/news/index.html")
    table = proposal.table
    assert table == {"title": "江南省知识产权局",
                     "listing": server.url + "/news/index.html",
                     "article_pattern": r"/art/\d+/\d+/\d+/art_\d+_\d+\.html",
                     "language": "zh"}
    assert [urlsplit(s["url"]).path for s in proposal.samples] == [
        "/art/2026/11/24/art_53_10486.html", "/art/2026/11/20/art_53_10471.html",
        "/art/2026/11/17/art_53_10455.html"]
    assert all(s["error"] is None for s in proposal.samples)
    assert proposal.samples[0]["title"].startswith("江南省开展冬季打击侵犯知识产权")
    # The pattern keeps the menus out: a fetch reads only the stories.
    source = declared_class("jiangnan", table)(declaration=table)
    assert source.is_article_url(server.url + "/art/2026/11/12/art_53_10432.html")
    assert not source.is_article_url(server.url + "/col/col55/index.html")


@pytest.mark.parametrize("status", [None, 503])
def test_a_site_with_nothing_usable_is_one_usage_error_naming_what_was_tried(serve, status):
    """A parked domain; and a server failing every request, whose failures are notes,
    never a traceback."""
    from ipnews.errors import UsageError
    from ipnews.probe import probe
    from ipnews.worker import InProcess

    server = serve("parked")
    server.status = status
    with client_for(server, attempts=1) as client, pytest.raises(UsageError) as caught:
        probe(server.url + "/", client, InProcess())
    message = str(caught.value)
    assert message.startswith(f"nothing to propose for {server.url}/: ")
    assert "tried the page" in message and "6 feed URLs" in message and "robots.txt" in message
    assert "\n" not in message


@pytest.mark.parametrize(("site", "start"), [("wpblog", "/"), ("newsmap", "/"),
                                             ("cmslisting", "/col/col53/index.html")])
def test_the_stanza_loads_back_as_a_declared_source(serve, site, start):
    """What `sources add` writes must load: TOML that parses, a table declared_class takes."""
    from ipnews.config import parse_toml
    from ipnews.probe import stanza
    from ipnews.sources.declared import declared_class

    proposal = run_probe(serve(site), start, name="added")
    text = stanza(proposal)
    assert text.startswith("[sources.added]\n")
    assert parse_toml(text) == {"sources": {"added": proposal.table}}
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) == len(proposal.samples) == 3
    assert all(line.startswith("# sample 2026-11-") for line in comments)
    table = parse_toml(text)["sources"]["added"]
    source = declared_class("added", table)(declaration=table)
    first = (table.get("feed") or table.get("sitemap") or table.get("listing")
             or f"{table['home']}/col/col{table['columns'][0]}/index.html")
    assert [u for _, u in source.discovery()] == [first]
    assert all(source.is_article_url(s["url"]) for s in proposal.samples)


def test_the_stanza_escapes_what_a_site_puts_in_its_title():
    from ipnews.config import parse_toml
    from ipnews.probe import Proposal, stanza

    title = 'The "IP" blog \\ 知识产权\n\t\x7f\x01 end'
    proposal = Proposal("x", {"title": title, "feed": ["https://a.example/feed/",
                                                       "https://a.example/rss.xml"],
                              "ip_only": True}, [
        {"url": "https://a.example/1", "title": "two\nlines\x1b[2J", "published_at": None,
         "authors": [], "body_chars": 1200, "extraction": "trafilatura", "error": None},
        {"url": "https://a.example/2", "title": None, "published_at": None, "authors": [],
         "body_chars": None, "extraction": None, "error": "no_article: too little text"},
    ], [])
    text = stanza(proposal)
    assert parse_toml(text)["sources"]["x"] == proposal.table
    assert text.splitlines()[-2:] == [
        "# sample undated: two lines[2J (1,200 characters, trafilatura) https://a.example/1",
        "# sample failed: https://a.example/2: no_article: too little text"]


@pytest.mark.parametrize(("url", "name"), [
    ("https://chinaiplawupdate.com/2026/11/x/", "chinaiplawupdate"),
    ("https://www.shine.cn/", "shine"),
    ("http://ip.people.com.cn/", "ip-people"),
    ("https://english.cnipa.gov.cn/col/col3090/", "english-cnipa"),
    ("https://english.news.cn/20261120/abc/c.html", "english-news"),
    ("https://www.wipo.int/pressroom/en/rss.xml", "wipo"),
    ("http://127.0.0.1:8000/", "127-0-0-1"),
    ("https://" + "long-" * 12 + "name.com/", ("long-" * 8).rstrip("-")),
])
def test_a_source_name_comes_from_the_host(url, name):
    from ipnews.probe import name_for

    assert name_for(url) == name


@pytest.mark.parametrize(("path", "pattern"), [
    ("/2026/11/customs-seize-bearings/", r"/\d+/\d+/[^/]+/?"),
    ("/art/2026/11/20/art_53_10486.html", r"/art/\d+/\d+/\d+/art_\d+_\d+\.html"),
    ("/a/202611/24/WS6742f1b0a310f1265a1d2f03.html", r"/a/\d+/\d+/WS[0-9a-fA-F]+\.html"),
    ("/n1/2026/1120/c179663-40123456.html", r"/n\d+/\d+/\d+/[0-9a-fA-F]+\-\d+\.html"),
    ("/news/nation/", None), ("/about.html", None), ("/files/2026/report.pdf", None),
])
def test_an_article_path_has_a_shape_and_a_section_none(path, pattern):
    from ipnews.probe import _path_pattern

    assert _path_pattern(path) == pattern
    if pattern:
        assert re.fullmatch(pattern, path)


def test_a_long_segment_costs_linear_time():
    """Every link of a page goes through _path_pattern, in the parent process: a pattern
    that backtracks took 25 ms for each of these links (a page of them, minutes)."""
    import time

    from ipnews.probe import _path_pattern

    started = time.monotonic()
    for _ in range(20):
        _path_pattern("/" + "abcdef" * 340 + "g1")
    assert time.monotonic() - started < 0.1


def test_a_bad_name_or_url_is_refused_before_any_request(serve):
    from ipnews.client import Client
    from ipnews.errors import UsageError
    from ipnews.probe import probe
    from ipnews.worker import InProcess

    server = serve("wpblog")
    for name in ("Bad Name", "x" * 41):
        with pytest.raises(UsageError, match="bad source name"):
            run_probe(server, name=name)
    with Client() as client, pytest.raises(UsageError, match="not an http"):
        probe("ftp://x.example/", client, InProcess())
    assert server.requests == []
