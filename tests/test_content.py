"""Reliability cases E (encoding, content, change tracking), B8-B10 (pathological pages),
D5 (URL identity) and H1, named by their row in ../shared/design/reliability-cases.md."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipnews.article import Article
from ipnews.decoding import decode_html, strip_control_chars
from ipnews.errors import ExtractError
from ipnews.extraction import blocks, check_quality, generic_extract, parse_html
from ipnews.sources import get_source_class
from ipnews.urls import UrlRules, canonical_url, looks_like_trap
from ipnews.worker import Extractor, Job

BODY = "".join(
    f"<p>上海海关 officers seized {n} counterfeit watches bearing a registered trademark at the "
    f"port in case number {n}, officials said on day {n}, the largest such case this year.</p>"
    for n in range(1, 5))
PAGE = ("<html><head><title>上海海关查获假冒手表</title></head><body>"
        f"<h1>上海海关查获假冒手表</h1>{BODY}</body></html>")


def test_E1_gbk_page_labelled_utf8_is_decoded_right():
    body = PAGE.replace("<head>", '<head><meta charset="utf-8">').encode("gbk")
    decoded = decode_html(body, "text/html; charset=utf-8")
    assert "上海海关" in decoded.text and "\ufffd" not in decoded.text
    assert decoded.encoding == "gb18030"


def test_E2_gb2312_label_reads_gb18030_characters():
    text = "<html><body><p>喆𠮷€ 知识产权</p></body></html>"
    decoded = decode_html(text.encode("gb18030"), "text/html; charset=gb2312")
    assert "喆𠮷€ 知识产权" in decoded.text and decoded.replacements == 0


def test_E3_invalid_utf8_is_replaced_counted_and_stored(tmp_path):
    body = PAGE.encode("utf-8").replace(b"seized", b"sei\xff\xfe\xc3zed", 2)
    decoded = decode_html(body, "text/html; charset=utf-8")
    assert decoded.replacements > 0 and "\udcff" not in decoded.text
    from ipnews.store import Archive

    article = generic_extract(decoded.text, "https://example.org/a")
    archive = Archive.open(tmp_path / "a.db")
    assert archive.save(article).outcome == "new"  # no surrogates: SQLite accepts it
    archive.close()


@pytest.mark.parametrize("entity", ["&#27;", "&#1;", "&#8;", "&#11;", "&#12;", "&#x1F;",
                                    "&#xFFFE;", "\x00", "\x07", "&#0000027;"])
def test_E4_control_characters_do_not_drop_the_article(entity):
    html = PAGE.replace("officials said", f"officials{entity} said", 1)
    article = generic_extract(html, "https://example.org/a")
    assert "officials said" in article.body
    assert not any(c in article.body for c in "\x00\x01\x07\x08\x0b\x0c\x1b\x1f\ufffe")


def test_E4_entities_of_ordinary_characters_survive():
    assert strip_control_chars("a&#39;b&#x27;c&#10;d&#65;") == "a&#39;b&#x27;c&#10;d&#65;"


@pytest.mark.parametrize("page", [
    "<html><head><title>Login</title></head><body><form><input name=u><input name=p>"
    "</form><a href=/x>a</a></body></html>",
    "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested "
    "URL was not found on this server.</p></body></html>",
    "<html><head><title>请开启JavaScript</title></head><body><noscript>请开启JavaScript"
    "</noscript><div id=app></div><script>app()</script></body></html>",
    "<html><head><title>News</title></head><body><ul>" + "".join(
        f"<li><a href='/n/{i}'>Headline number {i} about trade</a></li>" for i in range(40))
    + "</ul></body></html>",
])
def test_E5_no_article_pages_are_refused(page):
    with pytest.raises(ExtractError) as info:
        generic_extract(page, "https://example.org/a")
    assert info.value.kind == "no_article"


def test_E5_a_listing_page_is_not_a_shine_article():
    html = (pytest.importorskip("pathlib").Path(__file__).resolve().parents[1]
            / "fixtures/shine/site/news/nation/index.html").read_text("utf-8-sig")
    with pytest.raises(ExtractError):
        get_source_class("shine")().extract(html, "https://www.shine.cn/news/nation/")


def test_E6_truncated_html_that_arrived_whole_is_accepted():
    html = PAGE[: len(PAGE) * 3 // 4]
    article = generic_extract(html, "https://example.org/a")
    assert article.body.startswith("上海海关 officers seized")


def test_E8_five_spellings_of_one_story_are_one_row(mirror, ipnews):
    """http/https, www or not, trailing slash, utm_* and a fragment: one identity."""
    shine = get_source_class("shine")()
    spellings = ["http://shine.cn/news/nation/2411159985", "https://www.shine.cn/news/nation/"
                 "2411159985/?utm_source=wechat", "https://shine.cn/news/nation/2411159985/#top",
                 "HTTPS://WWW.SHINE.CN/news/nation/2411159985/", "https://www.shine.cn/news/"
                 "nation/./2411159985/?utm_medium=x&utm_campaign=y"]
    assert {shine.canonical(s) for s in spellings} == {
        "https://www.shine.cn/news/nation/2411159985/"}
    ctplo = get_source_class("ctplo")()
    assert {ctplo.canonical(u) for u in ("http://ctplo.com/blog/a-b", "https://www.ctplo.com"
                                         "/blog/a-b/", "http://www.ctplo.com/blog/a-b#x")} == {
        "http://www.ctplo.com/blog/a-b"}


def test_D5_session_ids_fold_but_distinct_ids_stay_distinct():
    rules = UrlRules("https://example.org", frozenset({"example.org"}), None,
                     frozenset({"id"}))
    a = canonical_url("https://example.org/art?id=1&sid=ab12", rules)
    b = canonical_url("https://example.org/art?id=1&sid=zz99&PHPSESSID=q", rules)
    c = canonical_url("https://example.org/art?id=2", rules)
    assert a == b != c


@pytest.mark.parametrize(("url", "reason"), [
    ("https://example.org/a/b/a/b/a/b/", "repeated"), ("https://example.org/" + "x" * 2100,
                                                        "too long"),
    ("file:///etc/passwd", "not http"), ("https://e.org/" + "/".join("abcdefghijklmnopqrstuv"),
                                          "segments"),
])
def test_D4_trap_urls_are_refused(url, reason):
    assert reason in (looks_like_trap(url) or "")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_D5_canonical_url_is_idempotent_and_never_raises(text):
    url = "https://www.shine.cn/" + text
    rules = get_source_class("shine")().rules
    once = canonical_url(url, rules)
    assert canonical_url(once, rules) == once


def test_B9_deeply_nested_page_is_no_article_not_a_crash():
    html = "<html><body>" + "<div>" * 100_000 + "text" + "</div>" * 100_000 + "</body></html>"
    for extract in (parse_html, lambda h: generic_extract(h, "https://example.org/deep")):
        with pytest.raises(ExtractError) as info:
            extract(html)
        assert info.value.kind == "no_article"
    # Nesting a real page could have still parses, and the walker needs no recursion.
    html = "<html><body>" + "<div>" * 900 + "text" + "</div>" * 900 + "</body></html>"
    assert [b.text for b in blocks(parse_html(html).body)] == ["text"]


def test_B8_a_page_that_takes_too_long_is_recorded_and_the_run_goes_on(mirror, ipnews):
    """120k links (4 MB) keep trafilatura busy for seconds: with extract_timeout = 1 s that
    page becomes extract_timeout, the other articles are still stored, and the exit is 3."""
    slug = "why-you-should-search-before-you-file-a-trademark-in-china"
    page = mirror.root / "ctplo" / "site" / "blog" / slug / "index.html"
    links = "".join(f'<a href="/l/{i}">link {i}</a> ' for i in range(120_000))
    page.write_text(f"<html><body><div>{links}</div></body></html>", encoding="utf-8")
    mirror.write_config(extract_timeout=1.0)
    result = ipnews("fetch", "ctplo", "--db", str(mirror.db), "--config", str(mirror.config))
    assert result.code == 3, result.err
    conn = sqlite3.connect(mirror.db)
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 8
    outcomes = [r[0] for r in conn.execute("SELECT outcome FROM fetch_log WHERE url LIKE ?",
                                           (f"%{slug}",))]
    conn.close()
    assert outcomes == ["extract_timeout"]


def test_B10_the_extractor_process_is_recycled_and_survives_a_crash():
    html = PAGE.encode("utf-8")
    job = Job("ctplo", "http://www.ctplo.com", {}, html, "text/html", "http://www.ctplo.com/blog/a")
    with Extractor(timeout=20, max_tasks=2) as extractor:
        pids = set()
        for _ in range(5):
            extractor.extract(job)
            pids.add(extractor._proc.pid)
        assert len(pids) >= 3  # a fresh child every 2 pages: memory cannot pile up
        extractor._proc.kill()
        extractor._proc.join()
        assert extractor.extract(job).article.body  # a dead child is replaced, not fatal


def test_H1_no_path_is_built_from_a_url():
    """ipnews keeps raw captures inside the database, never as files named after URLs, so a
    hostile URL (../, %2e%2e, NUL, 300-character names) cannot reach the file system."""
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "ipnews"
    for module in src.rglob("*.py"):
        text = module.read_text("utf-8")
        # Only these open files, and none by a name taken from a URL: the archive and its
        # backups, the files beside it, the config file, a page or WARC file the user names.
        assert "open(" not in text.replace("os.open(", "").replace("_open(", "") or \
            module.name in ("store.py", "cli.py", "files.py", "config.py", "warc.py"), module


def test_quality_gate_accepts_short_chinese_articles():
    article = Article(source="x", url="https://e.org/1", title="知识产权保护",
                      body="知识产权" * 25)
    check_quality(article)


def test_article_fields_in_json_are_plain():
    art = Article(source="x", url="u", title=" A\u00a0 title ", body="p1\n\n\n p2 ",
                  authors=["Xinhua", "xinhua", " "], tags=["a", "A"])
    assert json.loads(json.dumps(art.to_dict()))["body"] == "p1\n\np2"
    assert (art.title, art.authors, art.tags) == ("A title", ["Xinhua"], ["a"])


_CONTROL = set(map(chr, [*range(0, 9), *range(11, 32), *range(0x7F, 0xA0)])) | set(
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
_SEEDS = [p.read_text("utf-8-sig") for p in sorted(
    (pytest.importorskip("pathlib").Path(__file__).resolve().parents[1] / "fixtures")
    .glob("*/site/**/index.html"))[:6]]
_NOISE = st.sampled_from(["<", ">", "</div>", "<div>", "<p>", "&#27;", "&#x9b;", "\x00",
                          "\x1b[2J", "\u202e", "&amp;", "<!--", "-->", "<script>", "\ufffd",
                          "&#xD800;", "<h1>", "</h1>", "\udcff"])


def _assert_clean(article: Article) -> None:
    for field in ("title", "body", "summary", "section", "wire_source", "editor"):
        value = getattr(article, field) or ""
        assert not (set(value) & _CONTROL), field
        value.encode("utf-8")  # no lone surrogates: SQLite would refuse them
    for value in article.authors + article.tags:
        assert not (set(value) & _CONTROL)


@settings(max_examples=60, deadline=None)
@given(seed=st.sampled_from(range(len(_SEEDS))), cuts=st.lists(
    st.tuples(st.floats(0, 1), _NOISE), max_size=12))
def test_E4_F12_extraction_of_mutated_pages_never_raises_and_stores_no_controls(seed, cuts):
    html = _SEEDS[seed]
    for where, noise in cuts:
        i = int(where * len(html))
        html = html[:i] + noise + html[i:]
    for name, url in (("ctplo", "http://www.ctplo.com/blog/x"),
                      ("shine", "https://www.shine.cn/news/nation/2411110001/")):
        with contextlib.suppress(ExtractError):
            _assert_clean(get_source_class(name)().extract(html, url))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_extraction_of_random_text_never_raises(text):
    for name, url in (("ctplo", "http://www.ctplo.com/blog/x"),
                      ("shine", "https://www.shine.cn/news/nation/2411110001/")):
        with contextlib.suppress(ExtractError):
            _assert_clean(get_source_class(name)().extract(text, url))
    with contextlib.suppress(ExtractError):
        _assert_clean(generic_extract(text, "https://example.org/a"))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_F12_decoding_random_bytes_never_raises_or_leaves_surrogates(body):
    try:
        decoded = decode_html(body, "text/html; charset=utf-8")
    except ExtractError:
        return
    decoded.text.encode("utf-8")


def test_broken_links_on_a_listing_are_ignored_not_fatal():
    html = ('<html id="list"><div class="news_list">'
            '<div class="story" data-id="1"><div class="list-story"><a href="http://h:99999/">'
            'x</a></div></div><div class="story" data-id="2"><div class="list-story">'
            '<a href="http://[::1/">y</a></div></div><div class="story" data-id="3">'
            '<div class="list-story"><a href="/news/nation/2411110001/">z</a></div></div>'
            '</div></html>')
    listing = get_source_class("shine")().parse_listing(html, "https://www.shine.cn/news/nation/")
    assert [i.url for i in listing.items] == ["https://www.shine.cn/news/nation/2411110001/"]
