"""The archive file: schema, migrations, refusals, dedup and versions, check and backup."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from ipnews.article import Article
from ipnews.errors import StorageError
from ipnews.store import SCHEMA_VERSION, Archive, Capture, integrity_problems, open_reader


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def article(url: str = "https://www.shine.cn/news/nation/2411110001/", body: str | None = None,
            title: str = "Customs seize fake sneakers") -> Article:
    text = body or ("Shanghai customs officers seized 4,000 pairs of counterfeit sneakers "
                    "bound for export, the agency said on Monday. " * 5)
    return Article(source="shine", url=url, title=title, body=text,
                   published_at="2024-11-11T20:37:00+08:00", authors=["Xinhua"])


def capture(url: str, body: bytes = b"<html>page</html>") -> Capture:
    return Capture(url=url, final_url=url, status=200, headers={"etag": '"v1"'},
                   fetched_at="2024-11-11T12:00:00+00:00",
                   sha256=hashlib.sha256(body).hexdigest(), body=body)


@pytest.fixture
def archive(tmp_path: Path):
    a = Archive.open(tmp_path / "a.db")
    yield a
    a.close()


def test_schema_is_recorded_and_migrations_are_idempotent(tmp_path):
    db = tmp_path / "a.db"
    Archive.open(db).close()
    before = digest(db)
    Archive.open(db).close()
    assert digest(db) == before  # nothing to apply: not a byte written
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT version, name FROM migrations").fetchall() == [
        (1, "initial schema"), (2, "url_status.checked_with"), (3, "documents, runs.health"),
        (4, "articles.attachments"),
        (5, "porter stemming and the Chinese pairs in the index, topics"),
        (6, "stories view"), (7, "stories across outlets, entities, watches"),
        (8, "evidence: what was sent, where a capture came from, listing captures")]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"articles", "articles_fts", "article_urls", "versions", "captures", "runs",
            "fetch_log", "url_status", "migrations"} <= tables
    conn.close()


def test_F11_a_failed_migration_leaves_no_half_schema(tmp_path, monkeypatch):
    import ipnews.store as store

    def broken(db):
        store._migration_1(db)
        raise RuntimeError("power cut")
    monkeypatch.setattr(store, "MIGRATIONS", [(1, "initial schema", broken)])
    db = tmp_path / "a.db"
    with pytest.raises(RuntimeError):
        Archive.open(db)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()


def test_F11_newer_schema_is_refused_and_left_byte_identical(tmp_path, ipnews):
    db = tmp_path / "a.db"
    Archive.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = digest(db)
    for args in (("fetch", "--max-pages", "1"), ("search", "customs"), ("runs",)):
        result = ipnews(*args, "--db", str(db))
        assert result.code == 4, args
        assert "newer than this ipnews" in result.err
    assert digest(db) == before


@pytest.mark.parametrize("damage", ["header", "middle"])
def test_F7_corrupt_database_is_refused_and_left_byte_identical(archive_db, ipnews, damage):
    data = bytearray(archive_db.read_bytes())
    if damage == "header":
        data[0:16] = b"not a database!!"
    else:
        page = 4096
        for i in range(page * 3, min(len(data), page * 12)):
            data[i] ^= 0x5A
    archive_db.write_bytes(bytes(data))
    before = digest(archive_db)
    for args in (("fetch", "--max-pages", "1"), ("search", "customs"), ("check",)):
        result = ipnews(*args, "--db", str(archive_db))
        assert result.code == 4, (args, result.err)
        assert "Traceback" not in result.err
    assert digest(archive_db) == before


def test_F7_a_foreign_database_is_not_touched(tmp_path, ipnews):
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    before = digest(db)
    result = ipnews("fetch", "--db", str(db))
    assert result.code == 4 and "not an ipnews database" in result.err
    assert digest(db) == before


def test_E7_E8_new_unchanged_updated_duplicate(archive):
    a = article()
    first = archive.save(a, capture(a.url))
    assert first.outcome == "new"
    assert archive.save(article(), capture(a.url)).outcome == "unchanged"
    edited = article(body="Shanghai customs officers seized 5,000 pairs of counterfeit "
                          "sneakers, a figure revised upward on Tuesday. " * 5)
    updated = archive.save(edited, capture(a.url, b"<html>v2</html>"))
    assert (updated.outcome, updated.version) == ("updated", 2)
    twin_url = "https://www.shine.cn/biz/company/2411110009/"
    twin = archive.save(article(url=twin_url, body=edited.body, title="Other headline"))
    assert (twin.outcome, twin.article_id) == ("duplicate", first.article_id)
    conn = archive.conn
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    assert conn.execute("SELECT version, body FROM versions").fetchall() == [(1, a.body)]
    assert dict(conn.execute("SELECT url, kind FROM article_urls")) == {
        a.url: "canonical", twin_url: "same_text"}
    # The FTS index follows the edit: the old wording is gone from "current".
    hits = conn.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH '\"5,000\"'")
    assert hits.fetchall() == [(first.article_id,)]
    assert conn.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH "
                        "'\"4,000\"'").fetchone()[0] == 0
    assert integrity_problems(conn, archive.path) == []


def test_known_urls_and_negative_cache(archive):
    a = article()
    archive.save(a)
    archive.record(None, "shine", "https://www.shine.cn/news/metro/2411149907/", "skipped",
                   "not about IP", remember=True)
    archive.record(None, "shine", "https://www.shine.cn/news/metro/2411149908/", "timeout",
                   "slow")
    archive.record(None, "shine", "https://www.shine.cn/news/metro/2411149909/", "no_article",
                   "too little text", remember=True)
    archive.record(None, "shine", "https://www.shine.cn/news/metro/2411149910/", "no_article",
                   "too little text", remember=True)
    archive.conn.execute("UPDATE url_status SET last_seen = '2020-01-01T00:00:00+00:00' "
                         "WHERE url LIKE '%2411149910/' OR url LIKE '%2411149907/'")
    assert archive.known_urls([a.url] + [f"https://www.shine.cn/news/metro/{n}/" for n in (
        2411149907, 2411149908, 2411149909, 2411149910)]) == {
        a.url: "canonical",
        "https://www.shine.cn/news/metro/2411149907/": "skipped",  # not about IP: for good
        "https://www.shine.cn/news/metro/2411149909/": "no_article",  # retried after a week
    }


def test_G4_control_characters_never_reach_the_file(archive):
    dirty = article(title="Fake \x1b]0;pwn\x07goods \u202eseized\x9b31m",
                    body=("Counterfeit\x00 watches \x1b[2J seized by customs \u2066today. "
                          * 10))
    archive.save(dirty)
    title, body = archive.conn.execute("SELECT title, body FROM articles").fetchone()
    for text in (title, body):
        assert not any(ch in text for ch in "\x00\x07\x1b\x9b\u202e\u2066")
    assert title == "Fake ]0;pwngoods seized31m"


def test_F8_search_opens_read_only(archive_db):
    conn = open_reader(archive_db)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM articles")
    conn.close()


def test_F3_check_and_backup(archive_db, tmp_path, ipnews):
    assert ipnews("check", "--db", str(archive_db)).code == 0
    dest = tmp_path / "backup.db"
    assert ipnews("backup", str(dest), "--db", str(archive_db)).code == 0
    assert ipnews("check", "--db", str(dest)).code == 0
    assert ipnews("backup", str(dest), "--db", str(archive_db)).code == 2  # exists
    conn = sqlite3.connect(dest)
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 26
    conn.close()


def test_check_finds_a_broken_index(archive_db, ipnews):
    conn = sqlite3.connect(archive_db)
    conn.execute("DROP TRIGGER articles_ad")
    conn.execute("DELETE FROM articles WHERE id = 1")
    conn.commit()
    conn.close()
    result = ipnews("check", "--db", str(archive_db))
    assert result.code == 4 and "fts" in result.err.lower()


def test_E9_reextract_restores_damaged_text(archive_db, ipnews):
    conn = sqlite3.connect(archive_db)
    before = dict(conn.execute("SELECT id, body FROM articles"))
    conn.execute("UPDATE articles SET body = 'damaged', content_hash = 'x' WHERE id IN (1, 2)")
    conn.commit()
    result = ipnews("reextract", "--db", str(archive_db))
    assert result.code == 0, result.err
    assert "2 updated" in result.err
    assert dict(conn.execute("SELECT id, body FROM articles")) == before
    conn.close()


def test_F9_database_path_that_is_a_directory(tmp_path, ipnews):
    for cmd in (("search", "x"), ("fetch",)):
        result = ipnews(*cmd, "--db", str(tmp_path))
        assert result.code == 4 and "directory" in result.err


def test_F8_storage_error_message_for_missing_db_in_every_reader(tmp_path, ipnews):
    db = str(tmp_path / "missing.db")
    for cmd in (("show", "1"), ("export",), ("runs",), ("check",)):
        result = ipnews(*cmd, "--db", db)
        assert result.code == 4 and "database not found" in result.err, cmd
    assert not Path(db).exists()


def test_F6_disk_full_keeps_earlier_articles(tmp_path):
    archive = Archive.open(tmp_path / "a.db")
    archive.save(article())
    pages = archive.conn.execute("PRAGMA page_count").fetchone()[0]
    archive.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    huge = article(url="https://www.shine.cn/news/nation/2411110002/",
                   body="Patent infringement ruling text. " * 4000)
    with pytest.raises(StorageError, match="disk full"):
        archive.save(huge, capture(huge.url, b"x" * 200_000))
    assert archive.conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    assert integrity_problems(archive.conn, archive.path) == []
    archive.close()


def test_a_v3_archive_gains_attachments_and_keeps_its_stories_unedited(tmp_path, monkeypatch):
    """Issue 10's migration on an archive written before it: every story gets an empty
    attachment list, and the same text fetched again is unchanged, not a new version (an
    article without attachments hashes as it did)."""
    from ipnews import store

    db = tmp_path / "old.db"
    with monkeypatch.context() as m:
        m.setattr(store, "MIGRATIONS", store.MIGRATIONS[:3])
        m.setattr(store, "SCHEMA_VERSION", 3)
        Archive.open(db).close()
    story = article()
    conn = sqlite3.connect(db)  # a story as ipnews 0.1 at schema v3 stored it
    with conn:
        conn.execute("INSERT INTO articles (source, url, title, body, body_hash, content_hash, "
                     "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (story.source, story.url, story.title, story.body, story.body_hash,
                      story.content_hash, "2024-11-11T12:00:00+00:00",
                      "2024-11-11T12:00:00+00:00"))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.close()
    archive = Archive.open(db)
    assert archive.save(article()).outcome == "unchanged"
    with_file = article()
    with_file.attachments = [{"title": "公告.pdf", "url": "https://www.cnipa.gov.cn/a.pdf"}]
    assert archive.save(with_file).outcome == "updated"  # a file added is an edit
    archive.close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT attachments FROM articles").fetchall() == [
        ('[{"title": "公告.pdf", "url": "https://www.cnipa.gov.cn/a.pdf"}]',)]
    assert conn.execute("SELECT attachments FROM versions").fetchall() == [("[]",)]
    assert integrity_problems(conn, db) == []
