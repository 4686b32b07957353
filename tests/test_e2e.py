"""End to end: the real CLI against both fixture sites served on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def expected_pages(source: str) -> dict[str, dict]:
    out = {}
    for f in sorted((FIXTURES / source / "expected").glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        if data["fixture"].startswith("site/"):
            out[data["url"]] = data
    return out


def test_first_fetch_stores_every_article_and_skips_the_non_ip_story(mirror, ipnews):
    result = ipnews("fetch", "--db", str(mirror.db), "--config", str(mirror.config))
    assert result.code == 0, result.err
    assert result.out == ""
    ctplo, shine = expected_pages("ctplo"), expected_pages("shine")
    stored = dict(rows(mirror.db, "SELECT url, source FROM articles"))
    linked = dict(rows(mirror.db, "SELECT url, kind FROM article_urls"))
    for url in ctplo:
        assert stored.get(url) == "ctplo", url
    relevant = {u for u, d in shine.items() if d["relevant"]}
    irrelevant = {u for u, d in shine.items() if not d["relevant"]}
    assert irrelevant, "the fixtures must hold a non-IP story"
    for url in relevant:
        assert url in linked, url  # stored, or linked to the story it duplicates
    for url in irrelevant:
        assert url not in linked
        assert rows(mirror.db, "SELECT status FROM url_status WHERE url = ?", url) == [
            ("skipped",)]
    # The duplicate wire story is one article with two URLs, not two articles.
    same_text = [u for u, k in linked.items() if k == "same_text"]
    assert len(same_text) == 1
    assert len(stored) == len(ctplo) + len(relevant) - 1
    assert "ctplo: 9 new, 0 updated, 0 duplicate, 0 skipped, 0 failed" in result.err
    assert "shine: 17 new, 0 updated, 1 duplicate, 1 skipped, 0 failed" in result.err


def test_ctplo_dates_come_from_the_listing_cards(mirror, ipnews):
    assert ipnews("fetch", "ctplo", "--db", str(mirror.db),
                  "--config", str(mirror.config)).code == 0
    for url, data in expected_pages("ctplo").items():
        (published, authors, section), = rows(
            mirror.db, "SELECT published_at, authors, section FROM articles WHERE url = ?", url)
        assert published == data["listing"]["published_at"]
        assert json.loads(authors) == data["listing"]["authors"]
        assert section == data["listing"]["section"]


def test_second_fetch_stores_nothing_and_reads_only_first_listing_pages(mirror, ipnews):
    args = ("fetch", "--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews(*args).code == 0
    count = rows(mirror.db, "SELECT count(*) FROM articles")[0][0]
    mirror.ctplo.requests.clear()
    mirror.shine.requests.clear()
    second = ipnews(*args)
    assert second.code == 0, second.err
    assert rows(mirror.db, "SELECT count(*) FROM articles")[0][0] == count
    assert mirror.ctplo.pages() == ["/blog/blog-list"]
    assert sorted(mirror.shine.pages()) == ["/biz/", "/news/metro/", "/news/nation/"]
    assert "0 new" in second.err
    assert rows(mirror.db, "SELECT count(*) FROM versions")[0][0] == 0  # nothing edited


def test_quiet_prints_nothing_on_success(mirror, ipnews):
    result = ipnews("fetch", "-q", "--db", str(mirror.db), "--config", str(mirror.config))
    assert (result.code, result.out, result.err) == (0, "", "")


def test_E7_edited_article_becomes_a_new_version_and_search_finds_it(mirror, ipnews):
    args = ("--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews("fetch", "ctplo", *args).code == 0
    slug = "border-recordal-a-low-cost-tool-against-counterfeit-exports"
    page = mirror.root / "ctplo" / "site" / "blog" / slug / "index.html"
    html = page.read_text(encoding="utf-8")
    edited = html.replace("not on their way in.", "not on their way in, says a zanzibarite "
                          "consultant.", 1)
    assert edited != html
    page.write_text(edited, encoding="utf-8")
    result = ipnews("fetch", "ctplo", "--refresh", *args)
    assert result.code == 0, result.err
    assert "1 updated" in result.err
    url = f"http://www.ctplo.com/blog/{slug}"
    (article_id, version), = rows(mirror.db, "SELECT id, version FROM articles WHERE url = ?", url)
    assert version == 2
    (old_version, old_body), = rows(mirror.db, "SELECT version, body FROM versions WHERE "
                                    "article_id = ?", article_id)
    (body,), = rows(mirror.db, "SELECT body FROM articles WHERE id = ?", article_id)
    assert old_version == 1 and "zanzibarite" not in old_body and "zanzibarite" in body
    found = ipnews("search", "zanzibarite", "--json", *args)
    assert [r["id"] for r in json.loads(found.out)] == [article_id]


def test_A8_a_failing_source_does_not_stop_the_other(mirror, ipnews):
    mirror.shine.status = 500
    result = ipnews("fetch", "--db", str(mirror.db), "--config", str(mirror.config))
    assert result.code == 3
    assert "shine:" in result.err and "FAILED" in result.err
    assert rows(mirror.db, "SELECT count(*) FROM articles WHERE source = 'ctplo'")[0][0] == 9
    assert rows(mirror.db, "SELECT status FROM runs WHERE source = 'shine'") == [("failed",)]
