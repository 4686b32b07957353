"""The captured SHINE pages in ../shared/real-pages (skipped when that folder is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipnews.decoding import decode_html
from ipnews.relevance import ip_terms
from ipnews.sources import get_source_class

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-pages" / "shine"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-pages is absent")


def test_real_article_matches_its_expected_json() -> None:
    expected = json.loads((REAL / "article-2002262860.expected.json").read_text("utf-8"))
    decoded = decode_html((REAL / "article-2002262860.html").read_bytes(), "text/html")
    assert decoded.encoding == "utf-8-bom"
    article = get_source_class("shine")().extract(decoded.text, expected["url"])
    assert article.title == expected["title"]
    assert article.published_at == "2020-02-26T15:25:00+08:00"
    assert article.authors == expected["author_block"]
    assert article.wire_source == expected["source"]
    assert article.editor == expected["editor"]
    assert article.section == expected["column_meta"]
    assert article.summary == expected["summary_m_quote"]
    assert article.body.split("\n\n") == expected["body_paragraphs"]
    assert article.extraction == "selectors"
    for boilerplate in ("EXPLORE SHINE", "Special Reports", "沪ICP", "About Us", "Copyright"):
        assert boilerplate not in article.body
    # A COVID story: the IP filter must not keep it.
    assert ip_terms(f"{article.title} {article.summary} {article.body}") == []


def test_real_listing_matches_its_expected_json() -> None:
    expected = json.loads((REAL / "listing-news-nation.expected.json").read_text("utf-8"))
    html = decode_html((REAL / "listing-news-nation.html").read_bytes(), "text/html").text
    listing = get_source_class("shine")().parse_listing(html, "https://www.shine.cn/news/nation/")
    assert [i.url for i in listing.items] == [
        "https://www.shine.cn" + s["href"] for s in expected["stories"]]
    assert [i.title for i in listing.items] == [s["title"] for s in expected["stories"]]
    assert [i.summary for i in listing.items] == [s["summary"] for s in expected["stories"]]
    first = expected["stories"][0]["data_date"]  # "2020/6/12 21:39:51", Shanghai time
    assert listing.items[0].published_at == "2020-06-12T21:39:51+08:00", first
    assert listing.next_url == "https://www.shine.cn/news/nation/list_2.shtml"
