"""Sources a user declares in the config file, fetched end to end from a local server."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, rows
from server import SiteServer

BLOG = FIXTURES / "declared" / "ipblog" / "site"
POST = "https://ipblog.example/2026/11/customs-seize-counterfeit-bearings-in-ningbo/"


@pytest.fixture
def blog(tmp_path):
    server = SiteServer(BLOG)
    config = tmp_path / "config.toml"
    config.write_text(f"""[fetch]
delay = 0

[sources.ipblog]
title = "IP Blog"
feed = "https://ipblog.example/feed/"
base_url = "{server.url}"
body = "div.entry-content"
authors = ".entry-meta .author a"
boilerplate = ".sharedaddy"
""", "utf-8")
    yield server, config, tmp_path / "a.db"
    server.close()


def test_a_feed_source_declared_in_the_config_is_fetched_end_to_end(blog, ipnews):
    server, config, db = blog
    args = ("--db", str(db), "--config", str(config))
    result = ipnews("fetch", "ipblog", *args)
    assert result.code == 0, result.err
    assert "ipblog: 3 new" in result.err
    [(title, published, authors, body, extraction)] = rows(
        db, "SELECT title, published_at, authors, body, extraction FROM articles WHERE url = ?",
        POST)
    assert title == "Customs seize counterfeit bearings in Ningbo"
    assert published == "2026-11-20T09:15:00+08:00"
    assert json.loads(authors) == ["Li Wen"]
    assert body.startswith("Ningbo customs officers seized 12,000 counterfeit bearings")
    assert "Share this" not in body and extraction == "selectors"
    found = json.loads(ipnews("search", "recordal", "--source", "ipblog", "--json", *args).out)
    assert [r["url"] for r in found] == [POST]
    server.requests.clear()
    again = ipnews("fetch", "ipblog", *args)
    assert again.code == 0 and "0 new" in again.err
    assert server.pages() == ["/feed/"]  # nothing new: the feed alone
    listed = json.loads(ipnews("sources", "--json", *args).out)
    [mine] = [s for s in listed if s["name"] == "ipblog"]
    assert (mine["origin"], mine["finds"], mine["articles"]) == ("config", "feed", 3)


@pytest.mark.parametrize(("table", "message"), [
    ('feed = 5', "sources.x.feed must be a string or a list of strings"),
    ('feed = "ftp://a.example/feed"', "sources.x.feed must be an http(s) URL"),
    ('feed = "https://a.example/feed"\ncolour = "red"', "unknown key sources.x.colour"),
    ('feed = "https://a.example/feed"\ncard = "div[["', "sources.x.card is not a CSS selector"),
    ('feed = "https://a.example/feed"\narticle_pattern = "(("',
     "sources.x.article_pattern is not a regular expression"),
    ('feed = "https://a.example/feed"\nip_only = "yes"', "sources.x.ip_only must be true"),
    ('feed = "https://a.example/feed"\ndelay = -1', "sources.x.delay must be a number"),
    ('language = "en"', "unknown source [sources.x]: the built-in ones are chinadaily, chinaiplaw"),
])
def test_a_mistake_in_a_declared_source_is_one_usage_error_naming_the_key(
        tmp_path, ipnews, table, message):
    config = tmp_path / "config.toml"
    config.write_text(f"[sources.x]\n{table}\n", "utf-8")
    for command in (("fetch",), ("sources",)):
        result = ipnews(*command, "--config", str(config), "--db", str(tmp_path / "a.db"))
        assert result.code == 2 and message in result.err, result.err
        assert len(result.err.strip().splitlines()) == 1


def test_a_declared_source_is_known_to_the_readers(blog, ipnews):
    _server, config, db = blog
    assert ipnews("fetch", "ipblog", "--db", str(db), "--config", str(config)).code == 0
    for command in (("export", "--source", "ipblog"), ("runs", "--source", "ipblog")):
        result = ipnews(*command, "--json", "--db", str(db), "--config", str(config))
        assert result.code == 0 and json.loads(result.out), result.err


def test_the_declaration_reaches_the_extractor_process(blog):
    """Pages are extracted in a child process that reads no config: the source's
    declaration travels with each job."""
    from ipnews.sources.declared import declared_class
    from ipnews.worker import Extractor, Job

    server, _config, _db = blog
    table = {"feed": "https://ipblog.example/feed/", "body": "div.entry-content",
             "boilerplate": ".sharedaddy"}
    source = declared_class("ipblog", table)(base_url=server.url, declaration=table)
    page = (BLOG / "2026/11/customs-seize-counterfeit-bearings-in-ningbo/index.html"
            ).read_bytes()
    with Extractor(timeout=30) as extractor:
        done = extractor.extract(Job(source.name, source.base_url, source.settings, page,
                                     "text/html", POST))
    assert done.article.extraction == "selectors" and "Share this" not in done.article.body


def _declare(tmp_path, server, **keys: str) -> tuple[str, ...]:
    lines = ["[fetch]", "delay = 0", "", "[sources.ipblog]", f'base_url = "{server.url}"',
             'body = "div.entry-content"', 'boilerplate = ".sharedaddy"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n", "utf-8")
    return ("--db", str(tmp_path / "a.db"), "--config", str(config))


@pytest.fixture
def blog_site(tmp_path):
    """The blog with its post sitemap gzipped, as sites serve it."""
    import gzip
    import shutil

    root = tmp_path / "site"
    shutil.copytree(BLOG, root)
    xml = root / "post-sitemap.xml"
    (root / "post-sitemap.xml.gz").write_bytes(gzip.compress(xml.read_bytes()))
    xml.unlink()
    server = SiteServer(root)
    yield server
    server.close()


def test_a_sitemap_source_follows_its_index_once_and_reads_the_gzipped_child(
        tmp_path, blog_site, ipnews):
    args = _declare(tmp_path, blog_site, sitemap="https://ipblog.example/sitemap_index.xml")
    result = ipnews("fetch", "ipblog", *args)
    assert result.code == 0, result.err
    assert "ipblog: 3 new" in result.err
    paths = blog_site.pages()
    assert paths.count("/sitemap_index.xml") == 1  # the index names itself: read once
    assert "/news-sitemap.xml" in paths and "/post-sitemap.xml.gz" in paths
    db = tmp_path / "a.db"
    assert rows(db, "SELECT published_at FROM articles WHERE url = ?", POST) == [
        ("2026-11-20T09:15:00+08:00",)]
    assert rows(db, "SELECT count(*) FROM articles WHERE url = 'https://ipblog.example/'") \
        == [(0,)]  # the home page the sitemap lists is not an article


def test_a_listing_source_reads_its_cards_and_stops_at_a_missing_next_page(
        tmp_path, blog_site, ipnews):
    args = _declare(tmp_path, blog_site, listing="https://ipblog.example/category/news/",
                    card="article.post", card_link="h2 a", card_title="h2",
                    card_date="time@datetime", next="a.next")
    result = ipnews("fetch", "ipblog", *args)
    assert result.code == 0, result.err
    assert "ipblog: 3 new" in result.err
    assert "/category/news/page/2/" in blog_site.pages()  # asked, 404: the end, no error
    assert "/about/" not in blog_site.pages()  # only the cards' links are articles


def test_an_unchanged_feed_costs_one_request_and_a_304(blog, ipnews):
    server, config, db = blog
    server.etags = True
    args = ("--db", str(db), "--config", str(config))
    assert ipnews("fetch", "ipblog", *args).code == 0
    server.requests.clear()
    again = ipnews("fetch", "ipblog", *args)
    assert again.code == 0 and "0 new" in again.err
    assert server.pages() == ["/feed/"] and server.not_modified == ["/feed/"]
    assert rows(db, "SELECT etag IS NOT NULL FROM documents WHERE url = ?",
                "https://ipblog.example/feed/") == [(1,)]


def test_a_stale_feed_is_reported_not_trusted_silently(blog, ipnews):
    _server, config, db = blog
    config.write_text(config.read_text("utf-8").replace("delay = 0", "delay = 0\nstale_after = 1"),
                      "utf-8")
    result = ipnews("fetch", "ipblog", "--db", str(db), "--config", str(config))
    assert result.code == 3, result.err
    assert "feed https://ipblog.example/feed/" in result.err and "is stale" in result.err
    assert rows(db, "SELECT health FROM runs") == [("stale",)]


def test_sitemaps_named_by_robots_txt(tmp_path, blog_site, ipnews):
    args = _declare(tmp_path, blog_site, sitemap="https://ipblog.example/robots.txt")
    result = ipnews("fetch", "ipblog", *args)
    assert result.code == 0, result.err
    assert "ipblog: 3 new" in result.err
    assert {"/news-sitemap.xml", "/sitemap_index.xml"} <= set(blog_site.pages())


def test_a_date_the_page_lacks_comes_from_the_news_sitemap_and_says_so(
        tmp_path, blog_site, ipnews):
    page = blog_site.root / "2026/11/customs-seize-counterfeit-bearings-in-ningbo/index.html"
    html = page.read_text("utf-8")
    html = html.replace('<meta property="article:published_time"', '<meta property="x"')
    html = html.replace('<time class="entry-date published" datetime="2026-11-20T09:15:00+08:00">'
                        '2026-11-20</time>', "")
    page.write_text(html, "utf-8")
    args = _declare(tmp_path, blog_site, sitemap="https://ipblog.example/news-sitemap.xml")
    assert ipnews("fetch", "ipblog", *args).code == 0
    [(published, flags)] = rows(tmp_path / "a.db",
                                "SELECT published_at, flags FROM articles WHERE url = ?", POST)
    assert published == "2026-11-20T09:15:00+08:00"
    assert json.loads(flags) == ["published_at:news-sitemap"]
