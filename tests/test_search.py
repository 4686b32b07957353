"""Search from the command line and the library: safety of user text, formats, filters."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import child_env
from ipnews.errors import UsageError
from ipnews.store import build_query, open_reader, search

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def customs_urls() -> set[str]:
    """Stored articles whose text says "customs", read from the hand-written goldens."""
    urls = set()
    for f in FIXTURES.glob("*/expected/*.json"):
        if f.parent.parent.name not in ("ctplo", "shine"):  # the fetched fixture sites
            continue
        data = json.loads(f.read_text("utf-8"))
        if not data["fixture"].startswith("site/") or data.get("relevant") is False:
            continue
        e = data["expected"]
        if "customs" in f"{e['title']} {e['summary'] or ''} {e['body']}".lower():
            urls.add(data["url"])
    return urls


def stored_ids(db: Path, urls: set[str]) -> set[int]:
    conn = sqlite3.connect(db)
    try:
        marks = ",".join("?" * len(urls))
        return {r[0] for r in conn.execute(
            f"SELECT DISTINCT article_id FROM article_urls WHERE url IN ({marks})", list(urls))}
    finally:
        conn.close()


def test_G7_search_customs_finds_the_right_articles_in_every_format(archive_db, ipnews):
    want = stored_ids(archive_db, customs_urls())
    assert len(want) == 5  # 3 SHINE and 2 CTPLO stories; the non-IP one was never stored
    db = ("--db", str(archive_db))
    as_json = json.loads(ipnews("search", "customs", "--json", *db).out)
    assert {r["id"] for r in as_json} == want
    assert all("**customs**" in r["snippet"].lower() for r in as_json)
    scores = [r["score"] for r in as_json]
    assert scores == sorted(scores, reverse=True)  # best first
    lines = ipnews("search", "customs", "--jsonl", *db).out.splitlines()
    assert {json.loads(line)["id"] for line in lines} == want
    rows = list(csv.DictReader(io.StringIO(ipnews("search", "customs", "--csv", *db).out)))
    assert {int(r["id"]) for r in rows} == want
    table = ipnews("search", "customs", *db)
    assert table.code == 0 and len(table.out.splitlines()) == 2 + len(want)
    fields = json.loads(ipnews("search", "customs", "--json", "--fields", "id,title", *db).out)
    assert all(set(r) == {"id", "title"} for r in fields)


def test_G7_no_results_is_an_empty_array_and_success(archive_db, ipnews):
    result = ipnews("search", "xylophonist", "--json", "--db", str(archive_db))
    assert (result.code, result.out) == (0, "[]\n")
    assert ipnews("search", "xylophonist", "--db", str(archive_db)).out == ""


def test_filters_and_sort(archive_db, ipnews):
    db = ("--db", str(archive_db))
    ctplo = json.loads(ipnews("search", "customs", "--source", "ctplo", "--json", *db).out)
    assert ctplo and {r["source"] for r in ctplo} == {"ctplo"}
    recent = json.loads(ipnews("search", "customs", "--since", "2024-01-01", "--json", *db).out)
    assert recent and all(r["published_at"] >= "2024-01-01" for r in recent)
    old = json.loads(ipnews("search", "customs", "--until", "2018-12-31", "--json", *db).out)
    assert {r["source"] for r in old} == {"ctplo"}
    by_date = json.loads(ipnews("search", "customs", "--sort", "date", "--json", *db).out)
    dates = [r["published_at"] for r in by_date]
    assert dates == sorted(dates, reverse=True)
    assert len(json.loads(ipnews("search", "customs", "--limit", "1", "--json", *db).out)) == 1


@pytest.mark.parametrize("query", [
    "customs AND", '"customs', 'NEAR(', "(customs", "customs OR", "AND", "c++", "customs'",
    "U.S.", "e-commerce", "-customs", "foo:customs", "*", "customs*", '"customs seizure"',
    "'; DROP TABLE articles; --", '") OR 1=1 --', "customs\x00", "\x1b[2J customs",
])
def test_G1_G2_plain_queries_never_fail(archive_db, ipnews, query):
    result = ipnews("search", "--json", "--db", str(archive_db), "--", query)
    assert result.code in (0, 2), result.err
    assert "Traceback" not in result.err
    if result.code == 0:
        json.loads(result.out)
    else:
        assert result.out == "" and result.err.count("\n") == 1
    conn = sqlite3.connect(archive_db)
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] > 0
    conn.close()


@pytest.mark.parametrize("query", ["", "   ", '"', '""', "\x00", "***", "?!"])
def test_G1_empty_queries_are_usage_errors(archive_db, ipnews, query):
    result = ipnews("search", query, "--db", str(archive_db))
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("ipnews: ") and result.err.count("\n") == 1


@pytest.mark.parametrize("query", ["customs AND", '"customs', "NEAR(", "*", "foo:customs"])
def test_G1_raw_fts_syntax_errors_are_one_line(archive_db, ipnews, query):
    result = ipnews("search", "--fts", query, "--db", str(archive_db))
    assert result.code == 2 and result.out == ""
    assert "invalid search syntax" in result.err and result.err.count("\n") == 1


def test_raw_fts_syntax_works(archive_db, ipnews):
    result = ipnews("search", "--fts", "customs NOT sneakers", "--json", "--db", str(archive_db))
    assert result.code == 0 and json.loads(result.out)


def test_literal_words_and_phrases(archive_db, ipnews):
    db = ("--db", str(archive_db))
    us = json.loads(ipnews("search", "U.S.", "--json", *db).out)
    assert us and all("u.s" in (r["snippet"].lower().replace("*", "")) for r in us)
    assert json.loads(ipnews("search", "e-commerce", "--json", *db).out)


@pytest.mark.parametrize("term", ["知识产权", "商标", "专利", "海关"])
def test_G3_chinese_terms_are_found(archive_db, ipnews, term):
    result = json.loads(ipnews("search", term, "--exact", "--json", "--db",
                               str(archive_db)).out)
    assert result, term
    assert all(f"**{term}**" in r["snippet"] for r in result)
    # With the glossary, the English stories that say it in English come too.
    expanded = json.loads(ipnews("search", term, "--json", "--db", str(archive_db)).out)
    assert {r["id"] for r in result} <= {r["id"] for r in expanded}
    assert all("**" in r["snippet"] for r in expanded)


def test_G2_bad_options_are_usage_errors(archive_db, ipnews):
    db = ("--db", str(archive_db))
    for args in (("--limit", "0"), ("--limit", "-1"), ("--limit", "1e9"), ("--since", "soon"),
                 ("--sort", "random"), ("--fields", "id,password")):
        result = ipnews("search", "customs", *args, *db)
        assert result.code == 2, args
        assert "Traceback" not in result.err


def test_F8_missing_database_is_reported_and_not_created(tmp_path, ipnews):
    db = tmp_path / "nope" / "ipnews.db"
    result = ipnews("search", "customs", "--db", str(db))
    assert result.code == 4
    assert "database not found" in result.err
    assert not db.exists() and not db.parent.exists()


def test_sqlite_utils_finds_the_index(archive_db):
    import sqlite_utils

    db = sqlite_utils.Database(archive_db)
    assert db["articles"].detect_fts() == "articles_fts"
    hits = list(db["articles"].search("customs"))
    assert len(hits) == 5


def test_search_imports_neither_trafilatura_nor_httpx_nor_sqlite_utils(archive_db):
    code = ("import sys\nfrom ipnews.cli import main\n"
            "try:\n    main(['search', 'customs', '--db', sys.argv[1]])\n"
            "except SystemExit:\n    pass\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'trafilatura', 'httpx', 'sqlite_utils', 'lxml', 'selectolax'})\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, str(archive_db)], capture_output=True,
                          text=True, env=child_env(), timeout=60)
    assert "HEAVY []" in done.stderr


def test_G5_piped_into_head_prints_no_traceback(archive_db):
    cmd = f'"{sys.executable}" -m ipnews search customs --jsonl --db "{archive_db}" | head -1'
    for _ in range(3):
        done = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=child_env(),
                              timeout=60)
        assert done.stderr == ""
        json.loads(done.stdout)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40))
def test_G1_any_text_is_a_valid_query_or_a_usage_error(archive_db, text):
    conn = open_reader(archive_db)
    try:
        try:
            query = build_query(text)
        except UsageError:
            return
        results = search(conn, text)
        assert isinstance(results, list)
        assert query.fts or query.like
    finally:
        conn.close()


def test_very_common_words_take_the_fast_paths_with_the_same_answers(archive_db, monkeypatch):
    """A word in most of the archive: relevance ranks the newest RANKED matches, date order
    walks the date index. Shrinking RANKED makes the fixture archive take those paths."""
    import ipnews.store as store

    conn = open_reader(archive_db)
    try:
        exact_date = [r["id"] for r in search(conn, "the", sort="date", limit=10)]
        monkeypatch.setattr(store, "RANKED", 5)
        assert store._common_floor(conn, '"the"') is not None
        assert [r["id"] for r in search(conn, "the", sort="date", limit=10)] == exact_date
        newest = {r[0] for r in conn.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH '\"the\"' "
            "ORDER BY rowid DESC LIMIT 5")}
        ranked = search(conn, "the", limit=3)
        assert {r["id"] for r in ranked} <= newest
        # Filters that leave fewer than --limit of those matches fall back to all of them.
        ctplo = search(conn, "the", source="ctplo", limit=9)
        assert len(ctplo) == 9 and {r["source"] for r in ctplo} == {"ctplo"}
    finally:
        conn.close()


def test_a_time_filter_compares_instants_across_the_offsets_pages_state(tmp_path, ipnews):
    """published_at keeps the page's own offset: a New York evening is that day's news, and
    a filter with a time compares the moment, not the string."""
    from ipnews.article import Article
    from ipnews.store import Archive

    db = tmp_path / "offsets.db"
    archive = Archive.open(db)
    for n, when in enumerate(("2026-11-12T21:30:00-05:00", "2026-11-13T09:00:00+08:00")):
        archive.save(Article(source="generic", url=f"https://example.com/{n}",
                             title=f"Customs story {n}", body="Customs seized fakes. " * 20,
                             published_at=when))
    archive.close()
    args = ("customs", "--json", "--db", str(db))
    # 21:30 in New York is 10:30 the next morning in Shanghai: after 09:00 +08:00.
    later = json.loads(ipnews("search", *args, "--since", "2026-11-13T10:00").out)
    assert [r["published_at"] for r in later] == ["2026-11-12T21:30:00-05:00"]
    # A bare date is the day as the page printed it.
    day = json.loads(ipnews("search", *args, "--until", "2026-11-12").out)
    assert [r["published_at"] for r in day] == ["2026-11-12T21:30:00-05:00"]
