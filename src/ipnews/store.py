"""The only module that talks to SQLite: schema and migrations, saving, searching, export.

Writes go through sqlite-utils (imported only by the writer, so `ipnews search` never pays
for it) inside explicit ``BEGIN IMMEDIATE`` transactions, one per article: the article row,
its FTS entry (kept by sqlite-utils' triggers), its version, its URL and its capture commit
together or not at all. Reads use plain sqlite3 on a read-only connection.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ipnews import __version__
from ipnews.article import CJK, Article, clean_line, utcnow
from ipnews.bigrams import CJK_RUN, index_text
from ipnews.errors import DiskFullError, Interrupted, StorageError, UsageError
from ipnews.files import SQLITE_SIDECARS, beside, read_small, refuse_odd_file, write_atomic

SCHEMA_VERSION = 8
# A page refused for good (not about IP, gone) is never asked for again; other refusals
# (no article found, robots, too large...) are retried after a week: sites and parsers change.
PERMANENT = ("skipped", "gone")
RETRY_AFTER = timedelta(days=7)
FTS_COLUMNS = ("title", "summary", "body")
# The index's own columns beside the text: the Chinese runs of the title and of the rest,
# as overlapping character pairs (see bigrams.py), which the index reads as tokens.
ZH_COLUMNS = ("zh_title", "zh_text")
# Porter over unicode61: trademark, trademarks and trademarked are one term; no loadable
# extension is needed to read or write the index (every SQLite has both tokenizers).
TOKENIZE = "porter unicode61 remove_diacritics 2"
# Set by the CLI when stderr is a terminal: (what, done, total) while a migration rebuilds.
migration_progress: Callable[[str, int, int], None] | None = None
BUSY_TIMEOUT_MS = 10_000
# Every table the schema creates: a file that has user_version set but lacks one of them
# was not made by ipnews, whatever it claims.
# (A file of an older schema lacks the tables of later migrations: by the version each came.)
TABLES = {**dict.fromkeys(("articles", "articles_fts", "article_urls", "versions", "captures",
                           "runs", "fetch_log", "url_status", "migrations"), 1),
          "documents": 3,
          **dict.fromkeys(("fingerprints", "fingerprint_bands", "entities", "watches",
                           "watch_seen", "settings"), 7)}


# --- errors -----------------------------------------------------------------------------
def _storage_error(path: Path, exc: sqlite3.Error) -> StorageError:
    """Turn sqlite3's terse errors into one line that says what to do."""
    msg = str(exc)
    if "disk is full" in msg or "disk I/O error" in msg:
        return DiskFullError(f"disk full while writing {path}: {msg}")
    if ("not a database" in msg or "malformed" in msg or "encrypted" in msg
            or "vtable constructor failed" in msg):
        return StorageError(
            f"database appears corrupt: {path} ({msg}); not modified. Restore a backup or "
            f'try: sqlite3 {path} ".recover"')
    if "readonly" in msg or "read-only" in msg:
        if beside(path, "-journal").exists():
            return StorageError(
                f"database is read-only: {path} ({msg}), and a write was interrupted there: "
                "SQLite must roll back its journal before the file can be read; run any "
                "ipnews command with write access to it")
        return StorageError(f"database is read-only: {path} ({msg})")
    if "unable to open" in msg:
        return StorageError(f"cannot open database {path}: {msg}")
    if "locked" in msg or "busy" in msg:
        return StorageError(f"database is busy: {path} ({msg}); try again in a moment")
    return StorageError(f"database error on {path}: {msg}")


@contextmanager
def storage_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise _storage_error(path, exc) from exc


# --- opening ----------------------------------------------------------------------------
def _text(value: bytes) -> str:
    """Text as stored, even when another tool wrote bytes that are not UTF-8: one bad
    title must not make every command that reads it fail."""
    return value.decode("utf-8", "replace")


def _connect(path: Path, readonly: bool, create: bool = True) -> sqlite3.Connection:
    # Always a URI naming the absolute path: a plain string ":memory:" or "file:...?mode=
    # memory" would otherwise open a database that vanishes when the run ends.
    mode = "ro" if readonly else ("rwc" if create else "rw")
    if readonly and _hot_journal(path):
        # A writer killed inside COMMIT leaves a hot journal that the next connection must
        # roll back before reading, which a read-only connection cannot do. Reading
        # through a read-write connection lets SQLite repair the file; query_only keeps
        # this connection from writing anything else.
        mode = "rw"
    uri = f"file:{quote(str(path.absolute()))}?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                           timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.text_factory = _text
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


def _hot_journal(path: Path) -> bool:
    try:
        return os.lstat(beside(path, "-journal")).st_size > 0
    except OSError:
        return False


def _user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _check_version(path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"database schema v{version} is newer than this ipnews (v{SCHEMA_VERSION}): {path}; "
            "upgrade ipnews to use it (the file was not modified)")


def check_path(path: Path) -> None:
    """Refuse a path that can never hold the archive, before anything is created near it."""
    if path.is_dir():
        raise StorageError(f"database path is a directory: {path}")
    if path.exists() and not path.is_file():
        raise StorageError(f"database path is not a regular file: {path}")


def check_sidecars(path: Path) -> None:
    """Before writing: every file that ipnews or SQLite writes beside the archive must be
    absent or a regular file, so that no write goes through a planted link."""
    for suffix in (".verified", ".lock", *SQLITE_SIDECARS):
        refuse_odd_file(beside(path, suffix))


def _check_tables(path: Path, tables: set[str], version: int) -> None:
    missing = sorted(t for t, since in TABLES.items() if since <= version and t not in tables)
    if missing:
        raise StorageError(f"not an ipnews database (it has no table {missing[0]}): {path}; "
                           "not modified")


def open_reader(path: Path, for_check: bool = False) -> sqlite3.Connection:
    """A read-only connection. Never creates a file: a missing archive is an error.
    for_check: read-write but never creating, because FTS5's integrity-check is written as
    an INSERT (it changes nothing, and integrity_problems rolls it back regardless)."""
    if not path.exists():
        raise StorageError(f"database not found: {path} (run `ipnews fetch` first)")
    check_path(path)
    with storage_errors(path):
        conn = _connect(path, readonly=not for_check, create=False)
        version = _user_version(conn)
    _check_version(path, version)
    with storage_errors(path):
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    if version == 0 or "articles" not in tables:
        conn.close()
        raise StorageError(f"not an ipnews database: {path}")
    try:
        _check_tables(path, tables, version)
    except StorageError:
        conn.close()
        raise
    return conn


# A damaged page is only noticed when SQLite reads it, perhaps after this run has already
# written elsewhere in the file. So before writing we run quick_check, unless the file is
# exactly as our last writer left it (size and mtime recorded in <db>.verified): then its
# pages are the ones we checked or wrote, and a nightly run does not read gigabytes.
def _marker(path: Path) -> Path:
    return beside(path, ".verified")


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns}"


def _verified(path: Path) -> bool:
    try:
        return read_small(_marker(path), 200) == _stamp(path).encode("ascii")
    except OSError:
        return False


def _mark_verified(path: Path) -> None:
    with contextlib.suppress(OSError, StorageError):  # no marker only costs a quick_check
        write_atomic(_marker(path), _stamp(path).encode("ascii"))


def _quick_check(path: Path) -> None:
    with storage_errors(path):
        probe = _connect(path, readonly=True)
        try:
            result = [r[0] for r in probe.execute("PRAGMA quick_check(5)")]
        finally:
            probe.close()
    if result != ["ok"]:
        raise StorageError(
            f"database appears corrupt: {path} ({_first_problem(result)}); not modified. "
            f'Restore a backup or try: sqlite3 {path} ".recover"')


def _first_problem(result: list[str]) -> str:
    """The first line of quick_check's report that names a problem: its first line is
    often only the header "*** in database main ***"."""
    lines = [line for r in result for line in r.splitlines()]
    return next((line for line in lines if line and not line.startswith("*** in database")),
                lines[0] if lines else "unknown problem")


# --- migrations -------------------------------------------------------------------------
def _migration_1(db: Any) -> None:
    """The first schema: articles with FTS, their URLs, earlier versions, captures, runs,
    logs. An article row holds the current text; versions holds the texts it replaced."""
    db["captures"].create({
        "id": int, "url": str, "final_url": str, "status": int, "headers": str,
        "fetched_at": str, "sha256": str, "size": int, "encoding": str,
        "compression": str, "body": bytes, "run_id": int,
    }, pk="id", not_null={"url", "fetched_at", "sha256", "size"})
    db["captures"].create_index(["url"])
    db["articles"].create({
        "id": int, "source": str, "url": str, "title": str, "published_at": str,
        "authors": str, "wire_source": str, "editor": str, "section": str, "summary": str,
        "tags": str, "language": str, "body": str, "body_hash": str, "content_hash": str,
        "extraction": str, "flags": str, "version": int, "first_seen": str,
        "last_seen": str, "updated_at": str, "capture_id": int,
    }, pk="id", not_null={"source", "url", "title", "body", "body_hash", "content_hash",
                          "version", "first_seen", "last_seen"},
       defaults={"authors": "[]", "tags": "[]", "flags": "[]", "version": 1},
       foreign_keys=[("capture_id", "captures", "id")])
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["published_at"])
    db["articles"].create_index(["source", "published_at"])
    db["articles"].create_index(["body_hash"])
    db["articles"].enable_fts(list(FTS_COLUMNS), create_triggers=True,
                              tokenize="unicode61 remove_diacritics 2")
    db["article_urls"].create({
        "url": str, "article_id": int, "kind": str, "listing_title": str, "first_seen": str,
        "last_seen": str,
    }, pk="url", not_null={"article_id", "kind", "first_seen", "last_seen"},
       foreign_keys=[("article_id", "articles", "id")])
    db["article_urls"].create_index(["article_id"])
    db["versions"].create({
        "id": int, "article_id": int, "version": int, "title": str, "summary": str,
        "body": str, "content_hash": str, "captured_at": str, "capture_id": int,
    }, pk="id", not_null={"article_id", "version", "title", "body", "content_hash",
                          "captured_at"},
       foreign_keys=[("article_id", "articles", "id"), ("capture_id", "captures", "id")])
    db["versions"].create_index(["article_id", "version"], unique=True)
    db["runs"].create({
        "id": int, "source": str, "started_at": str, "finished_at": str,
        "duration_s": float, "status": str, "listing_pages": int, "requests": int,
        "new": int, "updated": int, "unchanged": int, "duplicate": int, "skipped": int,
        "failed": int, "stopped": str, "errors": str, "ipnews_version": str,
    }, pk="id", not_null={"source", "started_at", "status"})
    db["fetch_log"].create({
        "id": int, "run_id": int, "source": str, "url": str, "outcome": str,
        "detail": str, "at": str,
    }, pk="id", not_null={"url", "outcome", "at"}, foreign_keys=[("run_id", "runs", "id")])
    db["fetch_log"].create_index(["run_id"])
    db["fetch_log"].create_index(["url"])
    db["url_status"].create({
        "url": str, "source": str, "status": str, "detail": str, "first_seen": str,
        "last_seen": str,
    }, pk="url", not_null={"source", "status", "first_seen", "last_seen"})


def _migration_2(db: Any) -> None:
    """url_status.checked_with: the decoder and term list that judged a story "not about
    IP". A story skipped by an older decoder or list is judged again, not lost for good."""
    db["url_status"].add_column("checked_with", str)


def _migration_3(db: Any) -> None:
    """documents: the listing pages, feeds and sitemaps read, with their validators (a
    304 on the next run costs one request and means nothing new) and what they gave.
    runs.health, health_note, metrics: how healthy each source looked (see health.py)."""
    db["documents"].create({
        "url": str, "source": str, "kind": str, "etag": str, "last_modified": str,
        "checked_at": str, "items": int, "newest": str,
    }, pk="url", not_null={"source", "kind", "checked_at"})
    for column in ("health", "health_note", "metrics"):
        db["runs"].add_column(column, str)


def _migration_4(db: Any) -> None:
    """articles.attachments: the files a story links to (a CNIPA announcement's PDFs), a
    JSON list of {"title", "url"}, kept as links rather than as body text."""
    db["articles"].add_column("attachments", str, not_null_default="[]")
    db["versions"].add_column("attachments", str, not_null_default="[]")


def _migration_5(db: Any) -> None:
    """Word forms and Chinese in the index, and IP topics. The FTS table is rebuilt with
    the porter stemmer over unicode61, and over two more columns of articles, zh_title and
    zh_text, which hold the Chinese runs as character pairs (written by ipnews when it
    stores an article); articles.topics is a JSON list of topic tags (see topics.py). In
    the migration's one transaction: interrupted, it rolls back whole."""
    from ipnews.topics import topics_of

    conn = db.conn
    db["articles"].disable_fts()
    for column in ZH_COLUMNS:
        db["articles"].add_column(column, str, not_null_default="")
    db["articles"].add_column("topics", str, not_null_default="[]")
    for rows in _every_article(conn, "search index"):
        conn.executemany(
            "UPDATE articles SET zh_title = ?, zh_text = ?, topics = ? WHERE id = ?",
            [(index_text(t), index_text(s, b), json.dumps(topics_of(t, s, b)), i)
             for i, t, s, b in rows])
    db["articles"].enable_fts([*FTS_COLUMNS, *ZH_COLUMNS], create_triggers=True,
                              tokenize=TOKENIZE)


def _every_article(conn: sqlite3.Connection, what: str) -> Iterator[list[tuple]]:
    """(id, title, summary, body) of every article, oldest first, in batches whose memory
    does not grow with the archive; the progress hook hears of each batch done."""
    total = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    last, done = 0, 0
    while True:
        rows = conn.execute("SELECT id, title, summary, body FROM articles WHERE id > ? "
                            "ORDER BY id LIMIT 500", (last,)).fetchall()
        if not rows:
            return
        yield rows
        last, done = rows[-1][0], done + len(rows)
        if migration_progress is not None:
            migration_progress(what, done, total)


def _migration_6(db: Any) -> None:
    """stories: the articles as people read a list of them (date, year, source, title,
    topics, language, section, URL), without the text, the hashes and the index's columns
    that make Datasette's table of articles unreadable."""
    db.conn.execute(
        "CREATE VIEW stories AS SELECT id, published_at, substr(published_at, 1, 4) AS year, "
        "source, title, topics, language, section, url FROM articles")


def _migration_7(db: Any) -> None:
    """One story across outlets, what the news names, and watches.

    - articles.story_id: the id of the story's first stored copy (see clustering.py);
      fingerprints (each article's MinHash signature, its size and its facts) and
      fingerprint_bands (the signature's band keys: an index lookup finds the candidates).
    - entities: the case, patent and trademark numbers and the authorities an article
      names, normalized (see entities.py), one row per article and entity.
    - watches and watch_seen: saved searches and the stories each has reported, kept in
      the archive so that two machines reading copies of it do not interfere.
    - settings: what the stored fingerprints were made with (a new scheme rebuilds them).
    - stories: now one row per story, its first copy, with how many copies and where else.
    Every article is fingerprinted, tagged and clustered here, in the migration's one
    transaction."""
    conn = db.conn
    db["articles"].add_column("story_id", int)
    # One statement at a time: executescript would COMMIT the migration's transaction.
    for statement in (
        "CREATE INDEX idx_articles_story_id ON articles (story_id)",
        "CREATE TABLE fingerprints (article_id INTEGER PRIMARY KEY REFERENCES articles (id), "
        "size INTEGER NOT NULL, signature BLOB NOT NULL, facts BLOB NOT NULL)",
        "CREATE TABLE fingerprint_bands (key INTEGER NOT NULL, article_id INTEGER NOT NULL "
        "REFERENCES articles (id), PRIMARY KEY (key, article_id)) WITHOUT ROWID",
        "CREATE TABLE entities (article_id INTEGER NOT NULL REFERENCES articles (id), "
        "kind TEXT NOT NULL, key TEXT NOT NULL, label TEXT NOT NULL, surface TEXT NOT NULL, "
        "PRIMARY KEY (article_id, kind, key)) WITHOUT ROWID",
        "CREATE INDEX idx_entities_kind_key ON entities (kind, key)",
        "CREATE TABLE watches (name TEXT PRIMARY KEY, query TEXT, source TEXT, topic TEXT, "
        "entity TEXT, exact INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, "
        "baseline_id INTEGER NOT NULL, last_run_at TEXT, last_article_id INTEGER NOT NULL)",
        "CREATE TABLE watch_seen (watch TEXT NOT NULL REFERENCES watches (name) "
        "ON DELETE CASCADE, story_id INTEGER NOT NULL, seen_at TEXT NOT NULL, "
        "PRIMARY KEY (watch, story_id)) WITHOUT ROWID",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "DROP VIEW stories",
    ):
        conn.execute(statement)
    # The index's update trigger, as sqlite-utils made it, fired on any column: setting
    # story_id (or last_seen, on every revisit) re-indexed the whole text. Now only a
    # change to an indexed column does.
    (trigger,) = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
                              "name = 'articles_au'").fetchone()
    conn.execute("DROP TRIGGER articles_au")
    conn.execute(trigger.replace("AFTER UPDATE ON", "AFTER UPDATE OF " + ", ".join(
        (*FTS_COLUMNS, *ZH_COLUMNS)) + " ON", 1))
    conn.execute(STORIES_VIEW)
    _cluster_all(conn)


def _migration_8(db: Any) -> None:
    """What a capture is evidence of, and what replays a fetch without the network.

    - captures.exchange: what the client sent and how the server answered (request
      headers, HTTP version, reason phrase, redirect hops), as JSON: a WARC's request
      record and `show --evidence` give them as they were, not reconstructed.
    - captures.origin: where a capture came from when it was not fetched by this archive
      (a WARC file and record, a merged archive), as JSON.
    - documents.capture_id: the last capture of each listing page, feed and sitemap, so
      that `fetch --offline` can walk a source's listings as the last run saw them.
    - runs.origin: what a run read, when not the network ("import FILE", "replay ...").
    - an index on captures.final_url: replay looks a page up by the address asked."""
    db["captures"].add_column("exchange", str)
    db["captures"].add_column("origin", str)
    db["documents"].add_column("capture_id", int)
    db["runs"].add_column("origin", str)
    db.conn.execute("CREATE INDEX idx_captures_final_url ON captures (final_url)")


# One row per story: its first stored copy, with its copies' count and sources.
STORIES_VIEW = (
    "CREATE VIEW stories AS SELECT a.id, a.published_at, substr(a.published_at, 1, 4) AS year, "
    "a.source, a.title, a.topics, a.language, a.section, a.url, "
    "(SELECT count(*) FROM articles c WHERE c.story_id = a.id) AS copies, "
    "(SELECT group_concat(c.source, ', ') FROM articles c WHERE c.story_id = a.id "
    "AND c.id != a.id) AS also_in FROM articles a "
    "WHERE a.story_id = a.id OR a.story_id IS NULL")


def _cluster_all(conn: sqlite3.Connection) -> None:
    """Fingerprint, tag and cluster every article, oldest first (the order a fetch would
    have stored them in), from nothing: the migration and `ipnews stories --rebuild`."""
    from ipnews.clustering import scheme

    conn.execute("DELETE FROM fingerprint_bands")
    conn.execute("DELETE FROM fingerprints")
    conn.execute("DELETE FROM entities")
    conn.execute("UPDATE articles SET story_id = NULL")
    for rows in _every_article(conn, "stories and entities"):
        for article_id, title, summary, body in rows:
            _cluster(conn, article_id, title, summary, body)
    conn.execute("INSERT INTO settings (key, value) VALUES ('fingerprints', ?) ON CONFLICT "
                 "(key) DO UPDATE SET value = excluded.value", (scheme(),))


# A new article is compared with the stored articles that share the most bands with it
# (the likeliest copies) and with the other members of their stories: at most this many,
# so that no story, however large (a notice reprinted everywhere), makes a save slow.
MAX_CANDIDATES = 20
MAX_MEMBERS = 200


def _cluster(conn: sqlite3.Connection, article_id: int, title: str | None,
             summary: str | None, body: str | None, analysis: Any = None) -> None:
    """An article's entities, fingerprint and story, replacing what it had. A new article
    joins the story it is a copy of, or starts its own; an edited one keeps its story.
    analysis: clustering.analyse() of this text, made by the extraction process."""
    from ipnews.clustering import (
        Candidate,
        analyse,
        band_keys,
        choose_story,
        pack,
        text_key,
        unpack,
    )

    if analysis is None or analysis.key != text_key(title, summary, body):
        analysis = analyse(title, summary, body)
    found = analysis.entities
    conn.execute("DELETE FROM entities WHERE article_id = ?", (article_id,))
    conn.executemany(
        "INSERT INTO entities (article_id, kind, key, label, surface) VALUES (?, ?, ?, ?, ?)",
        [(article_id, e.kind, e.key, e.label, e.surface) for e in found])
    old = conn.execute("SELECT signature FROM fingerprints WHERE article_id = ?",
                       (article_id,)).fetchone()
    if old is not None:  # its bands, from its signature: no second index on the bands
        conn.executemany("DELETE FROM fingerprint_bands WHERE key = ? AND article_id = ?",
                         [(key, article_id) for key in band_keys(unpack(old[0]))])
        conn.execute("DELETE FROM fingerprints WHERE article_id = ?", (article_id,))
    fp = analysis.fingerprint
    story = conn.execute("SELECT story_id FROM articles WHERE id = ?",
                         (article_id,)).fetchone()[0]
    if fp is not None:
        conn.execute("INSERT INTO fingerprints (article_id, size, signature, facts) VALUES "
                     "(?, ?, ?, ?)", (article_id, fp.size, pack(fp.signature),
                                      fp.packed_facts()))
        conn.executemany("INSERT OR IGNORE INTO fingerprint_bands (key, article_id) VALUES "
                         "(?, ?)", [(key, article_id) for key in fp.bands])
        if story is None:
            near = [i for (i,) in conn.execute(
                f"SELECT article_id FROM fingerprint_bands WHERE key IN "
                f"({','.join('?' * len(fp.bands))}) AND article_id != ? GROUP BY article_id "
                "ORDER BY count(*) DESC, article_id LIMIT ?",
                (*fp.bands, article_id, MAX_CANDIDATES))]
            members = conn.execute(
                "SELECT a.id, a.story_id, f.signature, f.size, f.facts FROM articles a "
                "JOIN fingerprints f ON f.article_id = a.id WHERE a.story_id IN (SELECT "
                f"story_id FROM articles WHERE id IN ({','.join('?' * len(near))})) "
                "AND a.id != ? LIMIT ?", (*near, article_id, MAX_MEMBERS)).fetchall() \
                if near else []
            chosen = choose_story(fp, [Candidate(i, s, unpack(sig), n, f)
                                       for i, s, sig, n, f in members])
            story = chosen[0] if chosen else None
    conn.execute("UPDATE articles SET story_id = ? WHERE id = ?",
                 (story if story is not None else article_id, article_id))


MIGRATIONS: list[tuple[int, str, Callable[[Any], None]]] = [
    (1, "initial schema", _migration_1),
    (2, "url_status.checked_with", _migration_2),
    (3, "documents, runs.health", _migration_3),
    (4, "articles.attachments", _migration_4),
    (5, "porter stemming and the Chinese pairs in the index, topics", _migration_5),
    (6, "stories view", _migration_6),
    (7, "stories across outlets, entities, watches", _migration_7),
    (8, "evidence: what was sent, where a capture came from, listing captures", _migration_8),
]
assert MIGRATIONS[-1][0] == SCHEMA_VERSION


def _migrate(conn: sqlite3.Connection, db: Any, path: Path) -> None:
    """Apply pending migrations in one transaction, recorded in the file itself."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _user_version(conn)
        _check_version(path, current)
        if current == SCHEMA_VERSION:
            conn.execute("ROLLBACK")
            return
        if not db["migrations"].exists():
            db["migrations"].create({"version": int, "name": str, "applied_at": str},
                                    pk="version")
        for version, name, apply in MIGRATIONS:
            if version > current:
                apply(db)
                db["migrations"].insert({"version": version, "name": name,
                                         "applied_at": utcnow()})
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# --- the archive ------------------------------------------------------------------------
def _sha256(data: bytes) -> str:
    import hashlib  # here, not at the top: loading OpenSSL costs `ipnews search` 4 ms

    return hashlib.sha256(data).hexdigest()


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


@dataclass
class Capture:
    """What came over the wire for one article page, kept for re-extraction."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    fetched_at: str
    sha256: str
    body: bytes
    encoding: str | None = None
    zbody: bytes | None = None  # body already compressed with zlib (by the extractor process)
    exchange: dict[str, Any] | None = None  # what was sent, the status line, redirect hops
    origin: dict[str, Any] | None = None  # not fetched here: the WARC record, the archive


@dataclass(frozen=True)
class Saved:
    outcome: str  # new | updated | unchanged | duplicate
    article_id: int
    version: int


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    """One thread at a time on the archive's connection: a fetch reads several sites at
    once, and one thread's statements must never land inside another's transaction."""
    @functools.wraps(method)
    def wrapper(self: Archive, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)
    return wrapper


class Archive:
    """The writable archive. Open it with `Archive.open(path)`; close it when done. Its
    methods may be called from several threads; each transaction holds the archive's lock.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, keep_raw: bool = True) -> None:
        import sqlite_utils

        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self.keep_raw = keep_raw
        self.verified = True  # on close, record the file as checked unless a write failed
        # What judged a story "not about IP" (decoder and term list versions), set by the
        # pipeline: a skip judged by anything else is judged again.
        self.checked_with: str | None = None
        self.lock = threading.RLock()
        self._crash_after = int(os.environ.get("IPNEWS_TEST_CRASH_AFTER", "0") or 0)
        self._steps = 0

    @classmethod
    def open(cls, path: Path, keep_raw: bool = True) -> Archive:
        """Open or create the archive, refusing corrupt or newer files before writing."""
        check_path(path)
        check_sidecars(path)
        if path.exists() and path.stat().st_size > 0:
            # Look before writing: a file we must refuse stays byte-identical.
            with storage_errors(path):
                probe = _connect(path, readonly=True)
                try:
                    version = _user_version(probe)
                    tables = {r[0] for r in probe.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'")}
                finally:
                    probe.close()
            _check_version(path, version)
            if version == 0 and tables:
                raise StorageError(f"not an ipnews database (it has other tables): {path}; "
                                   "not modified")
            if version:
                _check_tables(path, tables, version)
            if not _verified(path):
                _quick_check(path)
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create {path.parent}: {exc.strerror}") from exc
        with storage_errors(path):
            conn = _connect(path, readonly=False)
            conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("PRAGMA foreign_keys = ON")
            archive = cls(path, conn, keep_raw)
            _migrate(conn, archive.db, path)
            if archive.stale_fingerprints():
                # Another MinHash (a rensa upgrade, other bands): new copies would no
                # longer meet the stored ones. Once, as a migration would.
                archive.rebuild_stories()
            # The caller holds the run lock: a run still marked running died unfinished.
            conn.execute("UPDATE runs SET status = 'crashed' WHERE status = 'running'")
        return archive

    def close(self) -> None:
        self.conn.close()
        if self.verified:
            _mark_verified(self.path)

    # -- transactions --
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE: take the write lock up front, so a read-then-write can never
        fail with "database is locked" halfway (a deferred transaction can)."""
        with self.lock, storage_errors(self.path):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.step()
            self.conn.execute("COMMIT")
        self.step()

    def step(self) -> None:
        """Test hook for the crash-point sweep: die hard after the k-th write step."""
        if self._crash_after:
            self._steps += 1
            if self._steps >= self._crash_after:
                os._exit(137)

    # -- what we already have --
    @_serialized
    def known_urls(self, urls: list[str]) -> dict[str, str]:
        """For each URL we have met before: 'canonical' or 'same_text' (stored, or linked to
        a story we hold) or its status in the negative cache ('skipped', 'no_article', ...).
        URLs never met, and negative entries past their RETRY_AFTER, are absent."""
        found: dict[str, str] = {}
        expired = (datetime.now(timezone.utc) - RETRY_AFTER).isoformat(timespec="seconds")
        with storage_errors(self.path):
            for i in range(0, len(urls), 500):
                chunk = urls[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for url, kind in self.conn.execute(
                        f"SELECT url, kind FROM article_urls WHERE url IN ({marks})", chunk):
                    found[url] = "same_text" if kind == "same_text" else "canonical"
                for url, status in self.conn.execute(
                        f"SELECT url, status FROM url_status WHERE url IN ({marks}) AND "
                        "(status = 'gone' OR (status = 'skipped' AND checked_with IS ?) OR "
                        "(status NOT IN ('gone', 'skipped') AND last_seen >= ?))",
                        [*chunk, self.checked_with, expired]):
                    found.setdefault(url, status)
        return found

    @_serialized
    def stale_skips(self, source: str, limit: int) -> list[str]:
        """Stories of a source judged "not about IP" by an older decoder or term list,
        newest first: they are fetched and judged again, whatever page they sit on."""
        return [u for (u,) in self.conn.execute(
            "SELECT url FROM url_status WHERE source = ? AND status = 'skipped' AND "
            "checked_with IS NOT ? ORDER BY first_seen DESC LIMIT ?",
            (source, self.checked_with, limit))]

    @_serialized
    def pending_urls(self, source: str, settled: set[str]) -> set[str]:
        """URLs of a source whose last attempt failed for a reason not in settled."""
        marks = ",".join("?" * len(settled))
        return {u for (u,) in self.conn.execute(
            f"SELECT url FROM url_status WHERE source = ? AND status NOT IN ({marks})",
            [source, *sorted(settled)])}

    def touch(self, url: str) -> None:
        """Seen again, unchanged (a 304): only last_seen moves."""
        with self.transaction():
            self.conn.execute(
                "UPDATE articles SET last_seen = ? WHERE id = (SELECT article_id FROM "
                "article_urls WHERE url = ?)", (utcnow(), url))

    @_serialized
    def stored_titles(self, url: str) -> set[str]:
        """The story's headline and the one its listing card showed last time: a card that
        now says something else than both is an edit worth fetching."""
        row = self.conn.execute(
            "SELECT a.title, u.listing_title FROM article_urls u JOIN articles a "
            "ON a.id = u.article_id WHERE u.url = ?", (url,)).fetchone()
        return {t for t in row if t} if row else set()

    @_serialized
    def document_headers(self, url: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a listing page, feed or sitemap read
        before, so that an unchanged one costs a 304."""
        row = self.conn.execute("SELECT etag, last_modified FROM documents WHERE url = ?",
                                (url,)).fetchone()
        out = {}
        if row and row[0]:
            out["If-None-Match"] = row[0]
        if row and row[1]:
            out["If-Modified-Since"] = row[1]
        return out

    def remember_document(self, url: str, source: str, kind: str, headers: dict[str, str],
                          items: int, newest: str | None, capture: Capture | None = None,
                          run_id: int | None = None) -> None:
        """A listing page, feed or sitemap read: its validators, what it gave, and its last
        capture (only the last: `fetch --offline` replays the listings as the last run saw
        them, and a night's listing pages are not worth keeping forever)."""
        with self.transaction():
            old = self.conn.execute("SELECT capture_id FROM documents WHERE url = ?",
                                    (url,)).fetchone()
            capture_id = self._insert_capture(capture, run_id)
            self.conn.execute(
                "INSERT INTO documents (url, source, kind, etag, last_modified, checked_at, "
                "items, newest, capture_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(url) "
                "DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, "
                "checked_at = excluded.checked_at, items = excluded.items, newest = "
                "excluded.newest, capture_id = coalesce(excluded.capture_id, capture_id)",
                (url, source, kind, headers.get("etag"), headers.get("last-modified"),
                 utcnow(), items, newest, capture_id))
            if old and old[0] is not None and capture_id is not None and old[0] != capture_id:
                # Captures are found again by URL only, so no article shares this one.
                self.conn.execute("DELETE FROM captures WHERE id = ? AND url = ?", (old[0], url))

    @_serialized
    def conditional_headers(self, url: str) -> dict[str, str]:
        """ETag / Last-Modified of the last capture, for a cheap 304 on re-checks."""
        row = self.conn.execute(
            "SELECT headers FROM captures WHERE url = ? ORDER BY id DESC LIMIT 1",
            (url,)).fetchone()
        if not row:
            return {}
        headers = json.loads(row[0] or "{}")
        out = {}
        if etag := headers.get("etag"):
            out["If-None-Match"] = etag
        if modified := headers.get("last-modified"):
            out["If-Modified-Since"] = modified
        return out

    # -- runs and logs --
    def start_run(self, source: str, origin: str | None = None) -> int:
        """origin: what the run reads when it is not the network ("import FILE")."""
        with self.transaction():
            return self.db["runs"].insert({
                "source": source, "started_at": utcnow(), "status": "running",
                "ipnews_version": __version__, "origin": origin,
            }).last_pk

    def link_urls(self, article_id: int, urls: list[str], kind: str, seen_at: str) -> int:
        """Other addresses of a stored story (an alias, a copy with the same text) that an
        imported WARC or a merged archive names; a URL linked already keeps its story.
        Returns how many were new."""
        added = 0
        with self.transaction():
            for url in urls:
                if not self.conn.execute("SELECT 1 FROM article_urls WHERE url = ?",
                                         (url,)).fetchone():
                    self._link(url, article_id, kind, seen_at)
                    added += 1
        return added

    @_serialized
    def earlier_metrics(self, source: str, limit: int = 10) -> list[dict[str, Any]]:
        """The health metrics of a source's last runs, newest first."""
        return [json.loads(m) for (m,) in self.conn.execute(
            "SELECT metrics FROM runs WHERE source = ? AND metrics IS NOT NULL AND status != "
            "'running' ORDER BY id DESC LIMIT ?", (source, limit))]

    def finish_run(self, run_id: int, **fields: Any) -> None:
        """Record how a run ended. A run that failed because another program held the
        file busy tries again for a while: its row must not stay 'running'."""
        if "errors" in fields:
            fields["errors"] = json.dumps(fields["errors"][:50], ensure_ascii=False)
        if "metrics" in fields:
            fields["metrics"] = json.dumps(fields["metrics"])
        fields["finished_at"] = utcnow()
        for attempt in range(3):
            try:
                with self.transaction():
                    self.db["runs"].update(run_id, fields)
                return
            except StorageError as exc:
                if attempt == 2 or "busy" not in str(exc):
                    raise

    def record(self, run_id: int | None, source: str, url: str, outcome: str,
               detail: str | None = None, remember: bool = False) -> None:
        """Log what happened to a URL; with remember=True, also put it in the negative
        cache so that later runs count it as known and do not fetch it again."""
        now = utcnow()
        with self.transaction():
            self.db["fetch_log"].insert({"run_id": run_id, "source": source, "url": url,
                                         "outcome": outcome, "detail": detail, "at": now})
            if remember:
                checked = self.checked_with if outcome == "skipped" else None
                self.conn.execute(
                    "INSERT INTO url_status (url, source, status, detail, first_seen, last_seen,"
                    " checked_with) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET"
                    " status = excluded.status, detail = excluded.detail,"
                    " last_seen = excluded.last_seen, checked_with = excluded.checked_with",
                    (url, source, outcome, detail, now, now, checked))

    # -- saving --
    def _insert_capture(self, capture: Capture | None, run_id: int | None,
                        anywhen: bool = False) -> int | None:
        """The capture's row id, inserting it unless the URL's last capture has its bytes
        (a revisit). anywhen (an import, a merge: old captures, in any order): unless this
        very capture, the same bytes fetched at the same moment, is stored."""
        if capture is None or not self.keep_raw:
            return None
        if anywhen:
            same = self.conn.execute(
                "SELECT id FROM captures WHERE url = ? AND sha256 = ? AND fetched_at = ?",
                (capture.url, capture.sha256, capture.fetched_at)).fetchone()
            if same:
                return same[0]
        else:
            last = self.conn.execute(
                "SELECT id, sha256 FROM captures WHERE url = ? ORDER BY id DESC LIMIT 1",
                (capture.url,)).fetchone()
            if last and last[1] == capture.sha256:
                return last[0]  # the same bytes again: a revisit, not a new capture
        return self.db["captures"].insert({
            "url": capture.url, "final_url": capture.final_url, "status": capture.status,
            "headers": json.dumps(capture.headers, ensure_ascii=False),
            "fetched_at": capture.fetched_at, "sha256": capture.sha256,
            "size": len(capture.body), "encoding": capture.encoding, "compression": "zlib",
            "body": capture.zbody or zlib.compress(capture.body, 6), "run_id": run_id,
            "exchange": _json_or_none(capture.exchange), "origin": _json_or_none(capture.origin),
        }).last_pk

    @_serialized
    def has_capture(self, url: str, sha256: str, fetched_at: str) -> bool:
        """Whether this very capture (these bytes of url, fetched then) is stored: a file
        imported again need not be read again. The same bytes fetched at another time are
        another sighting, which may place a text in the story's history."""
        return self.conn.execute(
            "SELECT 1 FROM captures WHERE url = ? AND sha256 = ? AND fetched_at = ?",
            (url, sha256, fetched_at)).fetchone() is not None

    def save(self, article: Article, capture: Capture | None = None,
             run_id: int | None = None, aliases: tuple[str, ...] = (),
             listing_title: str | None = None, more: list[Capture] | None = None,
             analysis: Any = None, seen_at: str | None = None) -> Saved:
        """Store one article in one transaction and say what it was for the archive. `more`
        are the captures of the story's further pages, kept beside its own for reextract;
        analysis: its entities and fingerprint, if the extraction process made them.

        seen_at: when the text was captured, if not now (an import, a merge, a replay).
        Such a text takes its place in the story's history by that time: compared with
        the text current then, and kept as an earlier version if a later one is stored.
        So captures may come in any order, and the same capture twice adds nothing."""
        from ipnews.topics import topics_of  # here: `ipnews search` never needs its rules

        now = seen_at or utcnow()
        row_fields = {
            "source": article.source, "url": article.url, "title": article.title,
            "published_at": article.published_at,
            "authors": json.dumps(article.authors, ensure_ascii=False),
            "wire_source": article.wire_source, "editor": article.editor,
            "section": article.section, "summary": article.summary,
            "tags": json.dumps(article.tags, ensure_ascii=False), "language": article.language,
            "body": article.body, "body_hash": article.body_hash,
            "content_hash": article.content_hash, "extraction": article.extraction,
            "flags": json.dumps(article.flags),
            "attachments": json.dumps(article.attachments, ensure_ascii=False),
            "zh_title": index_text(article.title),
            "zh_text": index_text(article.summary, article.body),
            "topics": json.dumps(topics_of(article.title, article.summary, article.body)),
        }
        with self.transaction():
            linked = self.conn.execute(
                "SELECT a.id, a.content_hash, a.version, u.kind FROM article_urls u "
                "JOIN articles a ON a.id = u.article_id WHERE u.url = ?",
                (article.url,)).fetchone()
            existing = linked[:3] if linked else self.conn.execute(
                "SELECT id, content_hash, version FROM articles WHERE url = ?",
                (article.url,)).fetchone()
            if linked is not None and linked[3] == "same_text":
                # Another URL's copy of a story we hold: its headline or standfirst may
                # differ, but it must never rewrite the story it was matched to.
                self._link(article.url, linked[0], "same_text", now, listing_title)
                result = Saved("duplicate", linked[0], linked[2])
            elif existing is not None and seen_at is not None and (earlier := self._earlier(
                    existing[0], seen_at, article, capture, run_id, more)) is not None:
                self._link(article.url, existing[0], "canonical", now, listing_title)
                version = self.conn.execute("SELECT version FROM articles WHERE id = ?",
                                            (existing[0],)).fetchone()[0]
                result = Saved(earlier, existing[0], version)
            elif existing is not None:
                article_id, old_hash, version = existing
                if old_hash == article.content_hash:
                    # The same text; its topics are recomputed (the rules may have changed:
                    # this is how `reextract` re-tags). A capture brought by an import or a
                    # merge is kept: the text's sighting then, which places later ones.
                    if seen_at is not None:
                        self._insert_capture(capture, run_id, anywhen=True)
                    self.conn.execute(
                        "UPDATE articles SET last_seen = max(last_seen, ?), topics = ? "
                        "WHERE id = ?", (now, row_fields["topics"], article_id))
                    self._link(article.url, article_id, "canonical", now, listing_title)
                    result = Saved("unchanged", article_id, version)
                else:
                    capture_id = self._insert_capture(capture, run_id, seen_at is not None)
                    for page in more or ():
                        self._insert_capture(page, run_id)
                    self._keep_old_version(article_id)
                    self.step()
                    version += 1
                    # The row keeps its url: the story's identity, whichever alias was read.
                    changes = {**row_fields, "version": version, "last_seen": now,
                               "updated_at": now}
                    del changes["url"]
                    if capture is not None:  # reextract saves without a new capture
                        changes["capture_id"] = capture_id
                    self.db["articles"].update(article_id, changes)
                    _cluster(self.conn, article_id, article.title, article.summary,
                             article.body, analysis)
                    self._link(article.url, article_id, "canonical", now, listing_title)
                    result = Saved("updated", article_id, version)
            else:
                twin = self.conn.execute(
                    "SELECT id, version FROM articles WHERE body_hash = ? LIMIT 1",
                    (article.body_hash,)).fetchone()
                if twin is not None:
                    self._link(article.url, twin[0], "same_text", now, listing_title)
                    self.conn.execute("UPDATE articles SET last_seen = max(last_seen, ?) "
                                      "WHERE id = ?", (now, twin[0]))
                    result = Saved("duplicate", twin[0], twin[1])
                else:
                    capture_id = self._insert_capture(capture, run_id, seen_at is not None)
                    for page in more or ():
                        self._insert_capture(page, run_id)
                    self.step()
                    article_id = self.db["articles"].insert({
                        **row_fields, "version": 1, "first_seen": now, "last_seen": now,
                        "capture_id": capture_id}).last_pk
                    _cluster(self.conn, article_id, article.title, article.summary,
                             article.body, analysis)
                    self.step()
                    self._link(article.url, article_id, "canonical", now, listing_title)
                    result = Saved("new", article_id, 1)
            for alias in aliases:
                if alias != article.url:
                    self._link(alias, result.article_id, "alias", now)
            self.conn.execute("DELETE FROM url_status WHERE url = ?", (article.url,))
        return result

    # -- watches --
    def add_watch(self, name: str, query: str | None, source: str | None = None,
                  topic: str | None = None, entity: str | None = None,
                  exact: bool = False) -> None:
        """A saved search. Its first run reports the stories stored after this moment."""
        with self.transaction():
            if self.conn.execute("SELECT 1 FROM watches WHERE name = ?", (name,)).fetchone():
                raise UsageError(f"a watch named {name!r} exists already (`ipnews watch rm "
                                 f"{name}` first)")
            newest = self.conn.execute("SELECT coalesce(max(id), 0) FROM articles"
                                       ).fetchone()[0]
            self.conn.execute(
                "INSERT INTO watches (name, query, source, topic, entity, exact, created_at, "
                "baseline_id, last_article_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, query, source, topic, entity, int(exact), utcnow(), newest, newest))

    def remove_watch(self, name: str) -> None:
        with self.transaction():
            if not self.conn.execute("DELETE FROM watches WHERE name = ?", (name,)).rowcount:
                raise UsageError(f"no watch named {name!r} (see `ipnews watch list`)")
            self.conn.execute("DELETE FROM watch_seen WHERE watch = ?", (name,))

    def run_watch(self, name: str, glossary: dict[str, tuple[str, ...]] | None
                  ) -> list[dict[str, Any]]:
        """The stories new to a watch since its last run (newest first), recorded as
        reported in the same transaction: a story is reported once, when a copy of it
        first matches, and only if its first copy was stored after the watch was made."""
        with self.transaction():
            row = self.conn.execute(
                "SELECT query, source, topic, entity, exact, baseline_id, last_article_id "
                "FROM watches WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise UsageError(f"no watch named {name!r} (see `ipnews watch list`)")
            query, source, topic, entity_key, exact, baseline, last = row
            # Stored as "kind:key", as `watch add` parsed it.
            entity = tuple(entity_key.split(":", 1)) if entity_key else None
            newest = self.conn.execute("SELECT coalesce(max(id), 0) FROM articles"
                                       ).fetchone()[0]
            found = search(self.conn, query or "", source=source, topic=topic,
                           entity=entity,  # type: ignore[arg-type]
                           sort="date", limit=1000, after_id=last, path=self.path,
                           glossary=None if exact else glossary)
            reported = {s for (s,) in self.conn.execute(
                "SELECT story_id FROM watch_seen WHERE watch = ?", (name,))}
            new = [r for r in found if (r["story_id"] or r["id"]) > baseline
                   and (r["story_id"] or r["id"]) not in reported]
            now = utcnow()
            self.conn.executemany(
                "INSERT OR IGNORE INTO watch_seen (watch, story_id, seen_at) VALUES (?, ?, ?)",
                [(name, r["story_id"] or r["id"], now) for r in new])
            self.conn.execute("UPDATE watches SET last_run_at = ?, last_article_id = ? WHERE "
                              "name = ?", (now, newest, name))
        return new

    def merge_many(self, paths: list[Path], stop: threading.Event | None = None,
                   progress: Callable[[int], None] | None = None) -> dict[str, int]:
        """Other archives' stories merged into this one, by the rules of a fetch: each
        text (every version) is saved with its capture in capture-time order, across all
        the files (so the result does not depend on their order): a URL held by several
        is one article whose versions interleave by time, a text held under another URL
        becomes a duplicate link. Their runs are copied first (captures keep naming the
        run that made them), then each story's other addresses, the captures of further
        pages and the settled refusals. Texts stream: memory does not grow with them."""
        import heapq

        counts = dict.fromkeys(("texts", "new", "updated", "unchanged", "duplicate",
                                "damaged", "runs", "links", "pages"), 0)
        readers = []
        try:
            for path in paths:
                if path.resolve() == self.path.resolve():
                    raise UsageError(f"{path} is the archive being merged into")
                conn = open_reader(path)
                readers.append(conn)
                version = _user_version(conn)
                if version != SCHEMA_VERSION:
                    raise UsageError(
                        f"{path} has schema version {version}, this ipnews writes "
                        f"{SCHEMA_VERSION}: upgrade it first (`ipnews watch run --db "
                        f"{path}` opens it for writing and changes nothing else)")
            runs = [self._copy_runs(conn, path, counts) for conn, path in zip(readers, paths,
                                                                             strict=True)]
            streams = [_texts(conn, i) for i, conn in enumerate(readers)]
            for at, i, kind, article_id, version in heapq.merge(*streams):
                if stop is not None and stop.is_set():  # between two texts, never inside one
                    raise Interrupted(getattr(stop, "signum", 2))
                self._merge_text(readers[i], paths[i], runs[i], kind, article_id, version,
                                 at, counts)
                if progress is not None:
                    progress(counts["texts"])
            for conn, path, mapped in zip(readers, paths, runs, strict=True):
                self._merge_rest(conn, path, mapped, counts)
        finally:
            for conn in readers:
                conn.close()
        return counts

    def _copy_runs(self, other: sqlite3.Connection, path: Path,
                   counts: dict[str, int]) -> dict[int, int]:
        columns = [r[1] for r in other.execute("PRAGMA table_info(runs)") if r[1] != "id"]
        mapped: dict[int, int] = {}
        with self.transaction():
            for row in other.execute(f"SELECT id, {', '.join(columns)} FROM runs ORDER BY id"):
                values = dict(zip(columns, row[1:], strict=True))
                values["origin"] = f"merged from {path}, its run {row[0]}" + (
                    f" ({values['origin']})" if values.get("origin") else "")
                if values.get("status") == "running":
                    values["status"] = "crashed"
                # The same run met again (this file merged again): one row.
                same = self.conn.execute(
                    "SELECT id FROM runs WHERE source = ? AND started_at = ? AND finished_at "
                    "IS ? AND origin = ?", (values["source"], values["started_at"],
                                           values.get("finished_at"), values["origin"])
                ).fetchone()
                if same is not None:
                    mapped[row[0]] = same[0]
                    continue
                mapped[row[0]] = self.db["runs"].insert(values).last_pk
                counts["runs"] += 1
        return mapped

    def _merge_text(self, other: sqlite3.Connection, path: Path, runs: dict[int, int],
                    kind: str, article_id: int, version: int, at: str,
                    counts: dict[str, int]) -> None:
        cols = ", ".join(f for f in ARTICLE_FIELDS if f not in ("topics", "story_id"))
        row = other.execute(f"SELECT {cols}, capture_id FROM articles WHERE id = ?",
                            (article_id,)).fetchone()
        fields = dict(zip([*cols.split(", "), "capture_id"], row, strict=True))
        capture_id = fields["capture_id"]
        if kind == "v":
            title, summary, body, attachments, capture_id = other.execute(
                "SELECT title, summary, body, attachments, capture_id FROM versions WHERE "
                "article_id = ? AND version = ?", (article_id, version)).fetchone()
            fields.update(title=title, summary=summary, body=body, attachments=attachments)
        article = Article(
            source=fields["source"], url=fields["url"], title=fields["title"],
            body=fields["body"], published_at=fields["published_at"],
            authors=json.loads(fields["authors"] or "[]"), wire_source=fields["wire_source"],
            editor=fields["editor"], section=fields["section"], summary=fields["summary"],
            tags=json.loads(fields["tags"] or "[]"), language=fields["language"],
            extraction=fields["extraction"] or "selectors",
            flags=json.loads(fields["flags"] or "[]"),
            attachments=json.loads(fields["attachments"] or "[]"))
        capture = None
        if capture_id is not None:
            found = other.execute(f"SELECT {', '.join(CAPTURE_COLUMNS)} FROM captures WHERE "
                                  "id = ?", (capture_id,)).fetchone()
            capture = self._merged_capture(found, path, counts)
        listing_title = other.execute("SELECT listing_title FROM article_urls WHERE url = ?",
                                      (fields["url"],)).fetchone()
        saved = self.save(article, capture, runs.get(found[-1]) if capture else None,
                          listing_title=listing_title[0] if listing_title else None,
                          seen_at=at)
        counts["texts"] += 1
        counts[saved.outcome] += 1
        if kind == "a":  # its other addresses, once its current text is in
            for kind_, urls in (("alias", "alias"), ("same_text", "same_text")):
                linked = [u for (u,) in other.execute(
                    "SELECT url FROM article_urls WHERE article_id = ? AND kind = ?",
                    (article_id, kind_))]
                if linked:
                    counts["links"] += self.link_urls(saved.article_id, linked, urls, at)

    def _merged_capture(self, row: tuple | None, path: Path,
                        counts: dict[str, int]) -> Capture | None:
        if row is None:
            return None
        found = _capture_row(row)
        if found["body"] is None or _sha256(found["body"]) != found["sha256"]:
            counts["damaged"] += 1  # the text is merged; the damaged bytes are not
            return None
        origin = {"merged_from": str(path), "capture": found["id"]}
        if found["origin"]:
            origin["origin"] = found["origin"]
        return as_capture(found, zbody=row[CAPTURE_COLUMNS.index("body")], origin=origin)

    def _merge_rest(self, other: sqlite3.Connection, path: Path, runs: dict[int, int],
                    counts: dict[str, int]) -> None:
        """Captures of further pages, and refusals settled for good (stories judged not
        about IP, pages gone): a later fetch or import need not ask again."""
        rows = other.execute(
            f"SELECT {', '.join(CAPTURE_COLUMNS)} FROM captures WHERE id NOT IN (SELECT "
            "capture_id FROM articles WHERE capture_id IS NOT NULL) AND id NOT IN (SELECT "
            "capture_id FROM versions WHERE capture_id IS NOT NULL) AND id NOT IN (SELECT "
            "capture_id FROM documents WHERE capture_id IS NOT NULL) ORDER BY id")
        for row in rows:
            capture = self._merged_capture(row, path, counts)
            if capture is not None:
                with self.transaction():
                    before = self.conn.total_changes
                    self._insert_capture(capture, runs.get(row[-1]), anywhen=True)
                    counts["pages"] += self.conn.total_changes > before
        settled = other.execute(
            "SELECT url, source, status, detail, first_seen, last_seen, checked_with FROM "
            "url_status WHERE status IN ('skipped', 'gone')").fetchall()
        with self.transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO url_status (url, source, status, detail, first_seen, "
                "last_seen, checked_with) SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 "
                "FROM article_urls WHERE url = ?)", [(*r, r[0]) for r in settled])

    def rebuild_stories(self) -> int:
        """Fingerprint, tag and cluster every article again, in one transaction (a reader
        sees the old stories until it commits). Returns the number of stories."""
        with self.transaction():
            _cluster_all(self.conn)
            return self.conn.execute(
                "SELECT count(DISTINCT story_id) FROM articles").fetchone()[0]

    @_serialized
    def stale_fingerprints(self) -> bool:
        """Whether the stored fingerprints were made another way than clustering.py's
        (a new rensa algorithm, other bands): then only a rebuild compares like with like."""
        from ipnews.clustering import scheme

        if not self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'settings'"
                                 ).fetchone():
            return False  # a schema before stories: its migration clusters everything
        row = self.conn.execute("SELECT value FROM settings WHERE key = 'fingerprints'"
                                ).fetchone()
        return row is None or row[0] != scheme()

    def captured(self, source: str | None = None
                 ) -> Iterator[tuple[dict[str, Any], Capture | None]]:
        """Each article with the raw capture its current text came from (None when that
        capture is damaged), read in batches so memory stays flat on a large archive."""
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT a.id, a.source, a.url, a.published_at, a.authors, a.section, "
                "a.summary, c.url, c.final_url, c.status, c.headers, c.fetched_at, c.sha256, "
                "c.body, c.encoding FROM articles a JOIN captures c ON c.id = a.capture_id "
                "WHERE a.id > ?" + (" AND a.source = ?" if source else "")
                + " ORDER BY a.id LIMIT 200", (last, source) if source else (last,)).fetchall()
            if not rows:
                return
            for row in rows:
                last = row[0]
                stored = {"id": row[0], "source": row[1], "url": row[2], "published_at": row[3],
                          "authors": json.loads(row[4] or "[]"), "section": row[5],
                          "summary": row[6]}
                try:
                    body = zlib.decompress(row[13])
                except (zlib.error, TypeError):
                    yield stored, None
                    continue
                yield stored, Capture(url=row[7], final_url=row[8], status=row[9],
                                      headers=json.loads(row[10] or "{}"), fetched_at=row[11],
                                      sha256=row[12], body=body, encoding=row[14])

    @_serialized
    def latest_capture(self, url: str, asked: bool = False) -> Capture | None:
        """The newest intact capture of a URL (a story's further page), or None. asked:
        url may also be the address asked (a mirror's): what `fetch --offline` answers."""
        return _newest_capture(self.conn, url, asked)

    def _earlier(self, article_id: int, seen_at: str, article: Article,
                 capture: Capture | None, run_id: int | None,
                 more: list[Capture] | None) -> str | None:
        """A text captured at seen_at, before the story's current text was last seen:
        "unchanged" if it is the text that was current then (or the next one, which then
        starts earlier), "updated" once kept as an earlier version in its place; None when
        the text is newer than everything stored (save goes on as for a fetch)."""
        # Each text's time is its page's fetch time where it has one: a live fetch stores
        # a text a moment after its page arrived.
        timeline = self.conn.execute(
            "SELECT v.version, coalesce(c.fetched_at, v.captured_at), v.content_hash, 'v' "
            "FROM versions v LEFT JOIN captures c ON c.id = v.capture_id WHERE "
            "v.article_id = ? UNION ALL SELECT a.version, coalesce(c.fetched_at, "
            "a.updated_at, a.first_seen), a.content_hash, 'a' FROM articles a LEFT JOIN "
            "captures c ON c.id = a.capture_id WHERE a.id = ? ORDER BY 1",
            (article_id, article_id)).fetchall()
        (last_seen,) = self.conn.execute("SELECT last_seen FROM articles WHERE id = ?",
                                         (article_id,)).fetchone()
        current = timeline[-1]
        if seen_at >= current[1] and (seen_at >= last_seen or current[2] ==
                                      article.content_hash):
            return None
        then = [v for v in timeline if v[1] <= seen_at]
        later = [v for v in timeline if v[1] > seen_at]
        if then and then[-1][2] == article.content_hash:
            self._insert_capture(capture, run_id, anywhen=True)
            self.conn.execute("UPDATE articles SET last_seen = max(last_seen, ?) WHERE id = ?",
                              (seen_at, article_id))
            return "unchanged"
        if later and later[0][2] == article.content_hash:
            # The next text, seen earlier than known: it starts here, with this capture.
            capture_id = self._insert_capture(capture, run_id, anywhen=True)
            version, _at, _hash, where = later[0]
            if where == "v":
                self.conn.execute(
                    "UPDATE versions SET captured_at = ?, capture_id = coalesce(?, capture_id) "
                    "WHERE article_id = ? AND version = ?",
                    (seen_at, capture_id, article_id, version))
            else:
                self.conn.execute(
                    "UPDATE articles SET capture_id = coalesce(?, capture_id), updated_at = "
                    "CASE WHEN version > 1 THEN ? END, first_seen = min(first_seen, ?) "
                    "WHERE id = ?", (capture_id, seen_at, seen_at, article_id))
            return "unchanged"
        capture_id = self._insert_capture(capture, run_id, anywhen=True)
        for page in more or ():
            self._insert_capture(page, run_id, anywhen=True)
        if not later:
            # After the current text's first capture but before its last sighting: the
            # story said this, then the current text again. The current text is kept as
            # an earlier version too, and stays current from its last capture on.
            self._keep_old_version(article_id)
            version = current[0]
            self._insert_version(article_id, version + 1, article, seen_at, capture_id)
            sighting = self.conn.execute(
                "SELECT id, fetched_at FROM captures WHERE url = (SELECT url FROM articles "
                "WHERE id = ?) AND fetched_at > ? ORDER BY fetched_at DESC LIMIT 1",
                (article_id, seen_at)).fetchone()
            self.conn.execute(
                "UPDATE articles SET version = ?, updated_at = ?, capture_id = ? WHERE id = ?",
                (version + 2, sighting[1] if sighting else last_seen,
                 sighting[0] if sighting else None, article_id))
            return "updated"
        after = then[-1][0] if then else 0  # the new text is version after + 1
        # Two steps: the (article_id, version) index is unique, checked row by row.
        self.conn.execute("UPDATE versions SET version = -(version + 1) WHERE article_id = ? "
                          "AND version > ?", (article_id, after))
        self.conn.execute("UPDATE versions SET version = -version WHERE article_id = ? AND "
                          "version < 0", (article_id,))
        self._insert_version(article_id, after + 1, article, seen_at, capture_id)
        # Every expression reads the row as it was: the current text keeps its own time.
        self.conn.execute("UPDATE articles SET version = version + 1, updated_at = "
                          "coalesce(updated_at, first_seen), first_seen = min(first_seen, ?) "
                          "WHERE id = ?", (seen_at, article_id))
        return "updated"

    def _insert_version(self, article_id: int, version: int, article: Article, at: str,
                        capture_id: int | None) -> None:
        self.conn.execute(
            "INSERT INTO versions (article_id, version, title, summary, body, attachments, "
            "content_hash, captured_at, capture_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article_id, version, article.title, article.summary, article.body,
             json.dumps(article.attachments, ensure_ascii=False), article.content_hash, at,
             capture_id))

    def _keep_old_version(self, article_id: int) -> None:
        """Copy the text about to be replaced into versions. Only superseded texts live
        there (the current one is the article row): an unedited story costs no copy."""
        self.conn.execute(
            "INSERT INTO versions (article_id, version, title, summary, body, attachments, "
            "content_hash, captured_at, capture_id) SELECT id, version, title, summary, body, "
            "attachments, content_hash, "
            "coalesce(updated_at, first_seen), capture_id FROM articles WHERE id = ?",
            (article_id,))

    def _link(self, url: str, article_id: int, kind: str, now: str,
              listing_title: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO article_urls (url, article_id, kind, listing_title, first_seen, "
            "last_seen) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET last_seen = "
            "max(last_seen, excluded.last_seen), first_seen = min(first_seen, "
            "excluded.first_seen), listing_title = coalesce(excluded.listing_title, "
            "listing_title)", (url, article_id, kind, listing_title, now, now))


# --- reading ----------------------------------------------------------------------------
_QUERY_TERMS = re.compile(r'"([^"]*)"|(\S+)')
SORTS = ("relevance", "date")
ARTICLE_FIELDS = ("id", "source", "url", "title", "published_at", "authors", "wire_source",
                  "editor", "section", "summary", "tags", "language", "body", "extraction",
                  "flags", "attachments", "topics", "story_id", "version", "first_seen",
                  "last_seen", "updated_at", "content_hash")
RUN_FIELDS = ("id", "source", "started_at", "duration_s", "status", "listing_pages", "requests",
              "new", "updated", "unchanged", "duplicate", "skipped", "failed", "stopped",
              "errors", "health", "health_note", "metrics")
JSON_FIELDS = ("authors", "tags", "flags", "attachments", "topics", "errors", "metrics")


@dataclass(frozen=True)
class Query:
    """A search, as FTS5 answers it. Chinese terms of two characters or more are phrases
    of character pairs in the zh columns (see bigrams.py); a lone Chinese character, and
    every Chinese term on an archive whose index predates those columns, is matched with
    LIKE instead. `cjk` are the Chinese terms, for highlighting."""

    fts: str | None
    like: tuple[str, ...]
    cjk: tuple[str, ...] = ()
    expansion: dict[str, list[str]] = field(default_factory=dict)  # term -> terms added


# What a query may ask: far more than anyone types, far less than makes SQLite work for a
# minute (2,000 repeated words took 3 s, 15,000 over 60 s; 40,000 Chinese characters
# overflow SQLite's LIKE pattern limit).
MAX_QUERY_CHARS = 1_000
MAX_QUERY_TERMS = 40
SEARCH_TIMEOUT = 20.0  # seconds of SQLite work for one search


def build_query(text: str, raw: bool = False, pairs: bool = True,
                glossary: dict[str, tuple[str, ...]] | None = None) -> Query:
    """Turn user text into a safe query. Plain words are literal (each quoted for FTS5,
    "quoted phrases" kept as phrases, a trailing * as a prefix); raw=True passes FTS5
    syntax through unchanged and leaves syntax errors to be reported by the caller.
    pairs=False: the archive's index has no Chinese pairs yet (schema before v5).
    glossary: folded term -> the terms it also means (glossary.expansions()); each is
    searched as one of them, and Query.expansion says which were added."""
    from ipnews.glossary import fold

    if len(text) > MAX_QUERY_CHARS:
        raise UsageError(f"query too long ({len(text):,} characters; at most "
                         f"{MAX_QUERY_CHARS:,})")
    text = "".join(ch for ch in text if ch.isprintable() or ch == " ")
    if not text.strip():
        raise UsageError("empty query: give at least one word to search for")
    if len(text.split()) > MAX_QUERY_TERMS:
        raise UsageError(f"too many words in the query ({len(text.split())}; at most "
                         f"{MAX_QUERY_TERMS})")
    if raw:
        return Query(text, ())
    found = glossary if glossary is not None else {}
    fts_terms: list[str] = []
    like: list[str] = []
    cjk: list[str] = []
    expansion: dict[str, list[str]] = {}
    for quoted, word in _QUERY_TERMS.findall(text):
        term = quoted if quoted else word
        prefix = bool(word) and word.endswith("*")
        term = term.rstrip("*") if prefix else term
        own, own_like, own_cjk = _render(term, prefix, pairs)
        like += own_like
        cjk += own_cjk
        alternatives = [own] if own else []
        if not prefix and (others := found.get(fold(term))):
            for other in others:
                alt, alt_like, alt_cjk = _render(other, False, pairs)
                if alt and not alt_like:  # a scan cannot be one side of an OR
                    alternatives.append(alt)
                    cjk += alt_cjk
                    expansion.setdefault(term, []).append(other)
        if len(alternatives) > 1:
            fts_terms.append("(" + " OR ".join(alternatives) + ")")
        elif alternatives:
            fts_terms.append(alternatives[0])
    if not fts_terms and not like:
        raise UsageError(f"nothing to search for in {text.strip()!r}: give words, not only "
                         "punctuation")
    # A word given twice asks nothing more: the same term twice only doubles the work.
    fts_terms, like = list(dict.fromkeys(fts_terms)), list(dict.fromkeys(like))
    # Explicit AND: FTS5 takes juxtaposition for AND between phrases, not after a group.
    return Query(" AND ".join(fts_terms) or None, tuple(like), tuple(dict.fromkeys(cjk)),
                 expansion)


def _render(term: str, prefix: bool, pairs: bool) -> tuple[str, list[str], list[str]]:
    """One term as FTS5 syntax (its parts ANDed), the Chinese characters only a scan can
    find (LIKE), and its Chinese runs."""
    from ipnews.bigrams import phrase

    parts: list[str] = []
    like: list[str] = []
    runs = [] if term.isascii() else CJK_RUN.findall(term)
    for run in runs:
        if pairs and len(run) > 1:
            parts.append("{" + " ".join(ZH_COLUMNS) + "} : " + phrase(run))
        else:
            like.append(run)
    rest = (CJK_RUN.sub(" ", term) if runs else term).replace('"', " ")
    if re.search(r"\w", rest):
        parts.append('"' + " ".join(rest.split()) + '"' + ("*" if prefix else ""))
    fts = parts[0] if len(parts) == 1 else ("(" + " ".join(parts) + ")" if parts else "")
    return fts, like, runs


@contextmanager
def _bounded(conn: sqlite3.Connection, seconds: float = SEARCH_TIMEOUT) -> Iterator[None]:
    """Let a query be stopped: by its time limit (a usage error) or by Ctrl-C. SQLite
    runs a query in C, where Python's signal handlers cannot run; the progress handler
    gives them a turn every few thousand steps. Python's KeyboardInterrupt, raised there,
    is swallowed by sqlite3, which aborts the query as "interrupted": raised again here."""
    deadline = time.monotonic() + seconds
    expired = False

    def check() -> int:
        nonlocal expired
        expired = time.monotonic() > deadline
        return expired

    conn.set_progress_handler(check, 10_000)
    try:
        yield
    except sqlite3.OperationalError as exc:
        if str(exc) != "interrupted":
            raise
        if expired:
            raise UsageError(f"the search took longer than {seconds:g} s; narrow it (fewer "
                             "or rarer words, --source, --since)") from exc
        raise KeyboardInterrupt from exc
    finally:
        conn.set_progress_handler(None, 0)


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filters(source: str | None, since: str | None, until: str | None,
             alias: str = "a", topic: str | None = None,
             entity: tuple[str, str] | None = None,
             after_id: int | None = None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if source:
        where.append(f"{alias}.source = ?")
        params.append(source)
    if entity:
        where.append(f"EXISTS (SELECT 1 FROM entities e WHERE e.article_id = {alias}.id AND "
                     "e.kind = ? AND e.key = ?)")
        params.extend(entity)
    if after_id is not None:
        where.append(f"{alias}.id > ?")
        params.append(after_id)
    if topic:
        where.append(f"EXISTS (SELECT 1 FROM json_each({alias}.topics) WHERE value = ?)")
        params.append(topic)
    # A bare date is the day as the page printed it (published_at keeps the publisher's
    # offset); a date and time is an instant, compared as one across offsets.
    if since:
        where.append(f"julianday({alias}.published_at) >= julianday(?)" if len(since) > 10
                     else f"{alias}.published_at >= ?")
        params.append(since)
    if until:
        # A bare date means "up to the end of that day".
        where.append(f"julianday({alias}.published_at) <= julianday(?)" if len(until) > 10
                     else f"substr({alias}.published_at, 1, 10) <= ?")
        params.append(until)
    return where, params


def _row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    out = {}
    for (name, *_), value in zip(cursor.description, row, strict=True):
        if name in JSON_FIELDS and isinstance(value, str):
            value = json.loads(value)
        out[name] = value
    return out


# Where a match starts and ends in highlight()'s output: control characters, which no
# stored text contains (clean_text removes them).
_OPEN, _CLOSE = "\x02", "\x03"
_MARKS = f"'{_OPEN}', '{_CLOSE}'"
HIGHLIGHTS = ", ".join(f"highlight(articles_fts, {i}, {_MARKS}) AS h_{c}"
                       for i, c in enumerate(FTS_COLUMNS))


def _mark(text: str | None, terms: tuple[str, ...]) -> str:
    """text with the Chinese terms marked too (the index found them among the pairs,
    which highlight() cannot point back to)."""
    text = text or ""
    for term in terms:
        if term in text:
            text = text.replace(term, f"{_OPEN}{term}{_CLOSE}")
    return text


def make_snippet(title: str | None, summary: str | None, body: str | None,
                 terms: tuple[str, ...] = (), before: int = 50, after: int = 130) -> str:
    """A window of the text around its first match, the matches in **; a match only in
    the title is shown in the title, before the text's opening. Never a window that hides
    the match."""
    title, text = _mark(title, terms), _mark(" ".join(filter(None, (summary, body))), terms)
    pos = text.find(_OPEN)
    sample = text[max(0, pos):max(0, pos) + 100]
    if not sample.isascii() and len(CJK.findall(sample)) > len(sample) // 3:
        before, after = before // 2, after // 2  # a Chinese character takes two columns
    if pos < 0:
        head = text[:after].strip()
        snippet = (title + " — " if _OPEN in title else "") + head + \
            ("…" if len(text) > after else "")
    else:
        start = max(0, pos - before)
        if start and (space := text.rfind(" ", start - 15, start)) > 0:
            start = space + 1  # do not cut an English word in two
        end = min(len(text), pos + after)
        if end < len(text) and (space := text.find(" ", end, end + 15)) > 0:
            end = space
        window = text[start:end]
        # A window may cut a match's mark in two: close what it opened.
        if window.count(_OPEN) > window.count(_CLOSE):
            window += _CLOSE
        snippet = ("…" if start else "") + window + ("…" if end < len(text) else "")
    return " ".join(snippet.replace(_OPEN, "**").replace(_CLOSE, "**").split())


def search(conn: sqlite3.Connection, text: str, *, raw: bool = False, source: str | None = None,
           since: str | None = None, until: str | None = None, limit: int = 20,
           sort: str = "relevance", path: Path | None = None,
           glossary: dict[str, tuple[str, ...]] | None = None,
           topic: str | None = None, entity: tuple[str, str] | None = None,
           copies: bool = False, after_id: int | None = None) -> list[dict[str, Any]]:
    """Ranked search (bm25 via FTS5's rank) with a highlighted snippet; each row says which
    glossary terms the query was expanded with (`expansion`). One row per story, its best
    match, with the story's other copies (`also_in`) and its first publication;
    copies=True: every matching article. An empty text with an entity lists the entity's
    articles, newest first. after_id: only articles stored after that one (watches)."""
    if sort not in SORTS:
        raise UsageError(f"unknown sort {sort!r} (use {' or '.join(SORTS)})")
    try:  # an archive not yet migrated to v5 has no Chinese pairs in its index
        pairs = conn.execute("SELECT 1 FROM pragma_table_info('articles_fts') "
                             "WHERE name = 'zh_title'").fetchone() is not None
    except sqlite3.DatabaseError as exc:
        raise _storage_error(path or Path("?"), exc) from exc
    query = (build_query(text, raw, pairs=pairs, glossary=glossary) if text.strip() or not entity
             else Query(None, ()))
    where, params = _filters(source, since, until, topic=topic, entity=entity,
                             after_id=after_id)
    for term in query.like:
        where.append("(a.title || ' ' || coalesce(a.summary, '') || ' ' || a.body) "
                     "LIKE ? ESCAPE '\\'")
        params.append(f"%{_escape_like(term)}%")
    stories = _has_stories(conn)  # an archive not yet migrated to v7 has none
    cols = ("a.id, a.source, a.url, a.title, a.published_at, a.authors, a.section, "
            + ("a.story_id" if stories else "NULL AS story_id"))
    extra = "".join(f" AND {w}" for w in where)
    if query.fts:
        try:
            with _bounded(conn):
                floor = _common_floor(conn, query.fts)
        except sqlite3.OperationalError:
            floor = None  # a syntax error: let the main query report it
        except sqlite3.DatabaseError as exc:
            raise _storage_error(path or Path("?"), exc) from exc
        if sort == "date" and floor is not None:
            # A word in a large share of the archive: walk the date index from the newest
            # article and probe the index for each, instead of sorting every match.
            one = ("(SELECT highlight(articles_fts, {}, " + _MARKS + ") FROM articles_fts "
                   "WHERE articles_fts MATCH ?1 AND rowid = a.id)")
            sql = (f"SELECT {cols}, " + ", ".join(f"{one.format(i)} AS h_{c}" for i, c in
                                                 enumerate(FTS_COLUMNS))
                   + ", NULL AS score FROM articles a "
                   "INDEXED BY idx_articles_published_at WHERE EXISTS (SELECT 1 FROM "
                   "articles_fts WHERE articles_fts MATCH ?1 AND rowid = a.id)"
                   f"{extra} ORDER BY a.published_at DESC, a.id DESC "
                   "LIMIT ?")
            params = [query.fts, *params, limit]
        else:
            order = "rank" if sort == "relevance" else "a.published_at DESC, a.id DESC"
            # A query of Chinese terms only: highlight() has nothing to mark (the pairs are
            # not the text) and re-reading every body for it cost a third of the query.
            marks = HIGHLIGHTS if '"' in _PAIRS_PART.sub("", query.fts) else (
                "a.title AS h_title, a.summary AS h_summary, a.body AS h_body")

            filter_params = list(params)

            def ranked(floored: bool, n: int = limit) -> tuple[str, list[Any]]:
                # Ranking is per match: for a word in most of the archive, rank only the
                # RANKED matches stored last (highest rowids), so "said" costs what a 2%
                # word costs.
                return (f"SELECT {cols}, {marks}, rank AS score FROM "
                        "articles_fts JOIN articles a ON a.id = articles_fts.rowid WHERE "
                        "articles_fts MATCH ?"
                        + (" AND articles_fts.rowid >= ?" if floored else "")
                        + f"{extra} ORDER BY {order} LIMIT ?",
                        [query.fts, *([floor] if floored else []), *filter_params, n])

            sql, params = ranked(floor is not None)
    else:
        sql = (f"SELECT {cols}, a.title AS h_title, a.summary AS h_summary, a.body AS h_body, "
               "NULL AS score FROM articles a"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY a.published_at DESC, a.id DESC LIMIT ?")
        params = [*params, limit]
    # The copies of one story fold into one row: when they take places in the first page,
    # ask for three times as many (rarely: most stories have no copy), never beyond 9x.
    fetch = limit
    try:
        with _bounded(conn):
            while True:
                cursor = conn.execute(sql, [*params[:-1], fetch])
                rows = [_row(cursor, r) for r in cursor.fetchall()]
                if query.fts and floor is not None and sort == "relevance" and \
                        len(rows) < fetch:
                    # The filters left too few of the newest matches: rank them all.
                    cursor = conn.execute(*ranked(False, fetch))
                    rows = [_row(cursor, r) for r in cursor.fetchall()]
                if stories and not copies:
                    full = len(rows) == fetch
                    rows = _one_per_story(rows)
                    if len(rows) < limit and full and fetch < 9 * limit:
                        fetch *= 3
                        continue
                break
    except sqlite3.OperationalError as exc:
        msg = str(exc)
        if raw and "no such table" not in msg and "locked" not in msg:
            raise UsageError(f"invalid search syntax: {msg}") from exc
        raise _storage_error(path or Path("?"), exc) from exc
    except sqlite3.DatabaseError as exc:
        raise _storage_error(path or Path("?"), exc) from exc
    # FTS5's rank is minus bm25. A word in most of the archive has an inverse document
    # frequency of almost nothing, so its bm25 is ~1e-6 for every match and printed 0.0:
    # `score` is the match's bm25 relative to the best shown (1.0 is the best), `bm25` the
    # figure itself, to four significant digits.
    rows = rows[:limit]
    best = max((-r["score"] for r in rows if r["score"] is not None), default=None)
    for r in rows:
        r["snippet"] = clean_line(make_snippet(r.pop("h_title"), r.pop("h_summary"),
                                               r.pop("h_body"), query.cjk + query.like))
        raw = r.pop("score")
        r["score"] = round(-raw / best, 3) if raw is not None and best else None
        r["bm25"] = float(f"{-raw:.4g}") if raw is not None else None
        r["expansion"] = query.expansion
    return with_copies(conn, rows) if stories else rows


def _one_per_story(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first row of each story, in order."""
    seen: set[int] = set()
    kept = []
    for r in rows:
        story = r.get("story_id") or r["id"]
        if story not in seen:
            seen.add(story)
            kept.append(r)
    return kept


def _has_stories(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM pragma_table_info('articles') WHERE name = 'story_id'"
                        ).fetchone() is not None


def with_copies(conn: sqlite3.Connection, rows: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """Rows with their story's other copies (`also_in`: id, source, url, published_at)
    and the story's first publication."""
    stories = {r.get("story_id") or r["id"] for r in rows}
    members: dict[int, list[dict[str, Any]]] = {}
    ids = sorted(stories)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for a_id, story, source, url, published in conn.execute(
                "SELECT id, story_id, source, url, published_at FROM articles WHERE story_id "
                f"IN ({','.join('?' * len(chunk))}) ORDER BY published_at, id", chunk):
            members.setdefault(story, []).append(
                {"id": a_id, "source": source, "url": url, "published_at": published})
    for r in rows:
        copies = members.get(r.get("story_id") or r["id"], [])
        r["also_in"] = [c for c in copies if c["id"] != r["id"]]
        dates = [c["published_at"] for c in copies if c["published_at"]]
        r["first_published"] = min(dates) if dates else r.get("published_at")
    return rows


RANKED = 20_000
# The pairs columns' phrases of a query: what is left once they are taken out is English.
_PAIRS_PART = re.compile(r'\{zh_title zh_text\} : "[^"]*"')
# A phrase (a Chinese term of three characters or more is the phrase of its pairs) costs
# several times more to rank per match, position lists merged: a smaller window.
RANKED_PHRASE = 2_000
_PHRASE = re.compile(r'"[^"]* [^"]*"')


def ranked_window(fts: str) -> int:
    """How many of the newest matches a query's relevance ranks at most."""
    return RANKED_PHRASE if _PHRASE.search(fts) else RANKED


def _common_floor(conn: sqlite3.Connection, fts: str) -> int | None:
    """The rowid of the ranked_window()-th most recently stored match, or None if fewer.
    Reading rowids in index order computes no rank and touches no article row, so this
    costs a few milliseconds even for a word in every article."""
    row = conn.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC "
        f"LIMIT 1 OFFSET {ranked_window(fts) - 1}", [fts]).fetchone()
    return row[0] if row else None


def _db_path(conn: sqlite3.Connection) -> Path:
    try:
        return Path(conn.execute("PRAGMA database_list").fetchone()[2])
    except sqlite3.Error:
        return Path("?")


def _reading(func: Callable[..., Any]) -> Callable[..., Any]:
    """A damaged page met while reading is a storage error (exit 4), not a crash."""
    @functools.wraps(func)
    def wrapper(conn: sqlite3.Connection, *args: Any, **kwargs: Any) -> Any:
        try:
            result = func(conn, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise _storage_error(_db_path(conn), exc) from exc
        if inspect.isgenerator(result):
            return _guarded(conn, result)
        return result
    return wrapper


def _guarded(conn: sqlite3.Connection, rows: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from rows
    except sqlite3.DatabaseError as exc:
        raise _storage_error(_db_path(conn), exc) from exc


@_reading
def get_article(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    """An article by id or by any URL it was seen at, with its URLs and versions."""
    if key.isascii() and key.isdigit():
        if len(key) > 18:
            return None
        row = conn.execute("SELECT * FROM articles WHERE id = ?", (int(key),))
    else:
        row = conn.execute(
            "SELECT a.* FROM articles a WHERE a.id = (SELECT article_id FROM article_urls "
            "WHERE url = ?) OR a.url = ? LIMIT 1", (key, key))
    rec = row.fetchone()
    if rec is None:
        return None
    article = _row(row, rec)
    article["urls"] = [u for (u,) in conn.execute(
        "SELECT url FROM article_urls WHERE article_id = ? ORDER BY first_seen, url",
        (article["id"],))]
    article["versions"] = [
        {"version": v, "captured_at": at, "title": t}
        for v, at, t in conn.execute(
            "SELECT version, captured_at, title FROM versions WHERE article_id = ? "
            "ORDER BY version", (article["id"],))]
    article["versions"].append({"version": article["version"], "title": article["title"],
                                "captured_at": article["updated_at"] or article["first_seen"]})
    article["copies"] = [
        {"id": i, "source": src, "url": u, "published_at": p, "title": t}
        for i, src, u, p, t in conn.execute(
            "SELECT id, source, url, published_at, title FROM articles WHERE story_id = ? "
            "AND id != ? ORDER BY published_at, id", (article["story_id"], article["id"]))]
    article["entities"] = [
        {"kind": k, "key": key, "label": label} for k, key, label in conn.execute(
            "SELECT kind, key, label FROM entities WHERE article_id = ? ORDER BY kind, key",
            (article["id"],))]
    return {k: article[k] for k in SHOW_FIELDS if k in article}


SHOW_FIELDS = (*ARTICLE_FIELDS, "urls", "versions", "copies", "entities")


@_reading
def version_texts(conn: sqlite3.Connection, article_id: int) -> dict[int, dict[str, Any]]:
    """Every stored text of an article by version number, the current one included."""
    out = {v: {"version": v, "title": t, "summary": s, "body": b, "captured_at": at}
           for v, t, s, b, at in conn.execute(
               "SELECT version, title, summary, body, captured_at FROM versions WHERE "
               "article_id = ? ORDER BY version", (article_id,))}
    row = conn.execute("SELECT version, title, summary, body, coalesce(updated_at, "
                       "first_seen) FROM articles WHERE id = ?", (article_id,)).fetchone()
    if row:
        out[row[0]] = {"version": row[0], "title": row[1], "summary": row[2], "body": row[3],
                       "captured_at": row[4]}
    return out


ENTITY_FIELDS = ("kind", "key", "label", "stories", "articles", "first_seen", "last_seen",
                 "also_written")


@_reading
def entity_counts(conn: sqlite3.Connection, kind: str | None = None, limit: int = 100
                  ) -> list[dict[str, Any]]:
    """Entities with how many stories and articles name them, the first and last
    publication that did, and the other ways they were written (Chinese and English)."""
    rows = conn.execute(
        "SELECT e.kind, e.key, count(DISTINCT coalesce(a.story_id, a.id)), count(*), "
        "min(a.published_at), max(a.published_at) FROM entities e JOIN articles a ON "
        "a.id = e.article_id" + (" WHERE e.kind = ?" if kind else "")
        + " GROUP BY e.kind, e.key ORDER BY count(DISTINCT coalesce(a.story_id, a.id)) DESC, "
        "max(a.published_at) DESC LIMIT ?", ((kind, limit) if kind else (limit,))).fetchall()
    out = []
    for k, key, stories, articles, first, last in rows:
        labels = [label for (label,) in conn.execute(
            "SELECT label FROM entities WHERE kind = ? AND key = ? GROUP BY label "
            "ORDER BY count(*) DESC, label", (k, key))]
        out.append({"kind": k, "key": key, "label": labels[0], "stories": stories,
                    "articles": articles, "first_seen": first, "last_seen": last,
                    "also_written": labels[1:]})
    return out


@_reading
def multi_copy_stories(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """Stories carried by more than one article, newest first, each as its first stored
    copy with the others under also_in."""
    cursor = conn.execute(
        "SELECT a.id, a.source, a.url, a.title, a.published_at, a.authors, a.section, "
        "a.story_id FROM articles a WHERE a.story_id = a.id AND EXISTS (SELECT 1 FROM "
        "articles c WHERE c.story_id = a.id AND c.id != a.id) ORDER BY a.published_at DESC, "
        "a.id DESC LIMIT ?", (limit,))
    return with_copies(conn, [_row(cursor, r) for r in cursor.fetchall()])


WATCH_FIELDS = ("name", "query", "source", "topic", "entity", "exact", "created_at",
                "last_run_at", "reported")


@_reading
def watches(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(zip(WATCH_FIELDS, row, strict=True)) for row in conn.execute(
        "SELECT name, query, source, topic, entity, exact, created_at, last_run_at, "
        "(SELECT count(*) FROM watch_seen s WHERE s.watch = w.name) FROM watches w "
        "ORDER BY name")]


@_reading
def export(conn: sqlite3.Connection, *, source: str | None = None, since: str | None = None,
           until: str | None = None, batch: int = 500, topic: str | None = None,
           entity: tuple[str, str] | None = None, copies: bool = False
           ) -> Iterator[dict[str, Any]]:
    """Articles oldest first (undated ones before them), read in short keyset batches along
    the date index: a reader holding one statement open (an export into a slow pipe) would
    otherwise block the nightly fetch's commits. One row per story, its first stored copy,
    with `also_in`; copies=True: every article."""
    where, params = _filters(source, since, until, topic=topic, entity=entity)
    if not copies:
        where.append("(a.story_id = a.id OR a.story_id IS NULL)")
    cols = ", ".join("a." + f for f in ARTICLE_FIELDS)
    extra = "".join(f" AND {w}" for w in where)
    phases = [] if since else [("a.published_at IS NULL AND a.id > ?", "a.id", (0,))]
    phases.append(("(a.published_at, a.id) > (?, ?)", "a.published_at, a.id", ("", 0)))
    for condition, order, key in phases:
        while True:
            cursor = conn.execute(
                f"SELECT {cols} FROM articles a WHERE {condition}{extra} ORDER BY {order} "
                "LIMIT ?", [*key, *params, batch])
            rows = [_row(cursor, r) for r in cursor.fetchall()]
            yield from with_copies(conn, rows)
            if len(rows) < batch:
                break
            last = rows[-1]
            key = (last["id"],) if len(key) == 1 else (last["published_at"], last["id"])


def _texts(conn: sqlite3.Connection, i: int) -> Iterator[tuple[str, int, str, int, int]]:
    """(captured at, i, "v" or "a", article id, version) of every text of an archive, in
    capture-time order: each earlier version, then each article's current text."""
    yield from ((at, i, kind, aid, version) for at, kind, aid, version in conn.execute(
        "SELECT at, kind, article_id, version FROM (SELECT coalesce(c.fetched_at, "
        "v.captured_at) AS at, 'v' AS kind, v.article_id, v.version FROM versions v LEFT JOIN "
        "captures c ON c.id = v.capture_id UNION ALL SELECT coalesce(c.fetched_at, "
        "a.updated_at, a.first_seen), 'a', a.id, a.version FROM articles a LEFT JOIN captures "
        "c ON c.id = a.capture_id) ORDER BY at, article_id, version"))


CAPTURE_COLUMNS = ("id", "url", "final_url", "status", "headers", "fetched_at", "sha256",
                   "body", "encoding", "exchange", "origin", "run_id")


def _capture_row(row: tuple) -> dict[str, Any]:
    """A captures row as a dict, its body decompressed (None when damaged)."""
    record = dict(zip(CAPTURE_COLUMNS, row, strict=True))
    try:
        record["body"] = zlib.decompress(record["body"])
    except (zlib.error, TypeError):
        record["body"] = None
    for name in ("headers", "exchange", "origin"):
        record[name] = json.loads(record[name]) if record[name] else None
    record["headers"] = record["headers"] or {}
    return record


def listing_fields(article: dict[str, Any]) -> dict[str, Any]:
    """The fields an article took from a listing card, feed item or sitemap entry (its
    flags say which: "published_at:rss"), with where from: what a WARC's metadata record
    must carry for an import to give the same article."""
    out: dict[str, Any] = {}
    for flag in article.get("flags") or ():
        name, _, origin = flag.partition(":")
        if name in ("published_at", "authors", "section", "title", "summary") and origin \
                and article.get(name):
            out[name] = article[name]
            out.setdefault("origin", origin)
    return out


@_reading
def warc_captures(conn: sqlite3.Connection, articles: Iterable[dict[str, Any]],
                  everything: bool) -> Iterator[dict[str, Any]]:
    """The captures to write in a WARC, each with the ipnews-* fields of its metadata
    record: the listing documents' last captures first (everything only), then each
    article's captures, its versions in order, then (everything only) every capture not
    written yet (the further pages of stories split over several pages)."""
    cols = ", ".join(CAPTURE_COLUMNS)
    written: set[int] = set()
    if everything:
        documents = conn.execute(
            f"SELECT d.url, d.source, d.kind, {', '.join('c.' + c for c in CAPTURE_COLUMNS)}"
            " FROM documents d JOIN captures c ON c.id = d.capture_id ORDER BY c.id").fetchall()
        for doc_url, source, kind, *row in documents:
            capture = _capture_row(row)
            written.add(capture["id"])
            capture["meta"] = {"ipnews-document": kind, "ipnews-source": source,
                               "ipnews-canonical-url": doc_url}
            yield capture
    for article in articles:
        aid = article["id"]
        links = conn.execute("SELECT url, kind, listing_title FROM article_urls WHERE "
                             "article_id = ? ORDER BY first_seen, url", (aid,)).fetchall()
        listing_title = next((t for u, k, t in links if u == article["url"] and t), None)
        texts = conn.execute(
            "SELECT version, capture_id FROM versions WHERE article_id = ? AND capture_id IS "
            "NOT NULL ORDER BY version", (aid,)).fetchall()
        current = conn.execute("SELECT capture_id FROM articles WHERE id = ?",
                               (aid,)).fetchone()
        if current and current[0] is not None:
            texts.append((article["version"], current[0]))
        base = {"ipnews-article-id": aid, "ipnews-source": article["source"],
                "ipnews-canonical-url": article["url"],
                "ipnews-extraction": article.get("extraction"),
                "ipnews-listing": listing_fields(article) or None,
                "ipnews-listing-title": listing_title,
                "ipnews-aliases": [u for u, k, _ in links if k == "alias"] or None,
                "ipnews-same-text": [u for u, k, _ in links if k == "same_text"] or None}
        for version, capture_id in texts:
            if capture_id in written:
                continue
            row = conn.execute(f"SELECT {cols} FROM captures WHERE id = ?",
                               (capture_id,)).fetchone()
            if row is None:
                continue
            written.add(capture_id)
            capture = _capture_row(row)
            capture["meta"] = {**base, "ipnews-version-number": version}
            yield capture
    if everything:
        last = 0
        while True:
            rows = conn.execute(f"SELECT {cols} FROM captures WHERE id > ? ORDER BY id LIMIT 200",
                                (last,)).fetchall()
            if not rows:
                break
            for row in rows:
                last = row[0]
                if row[0] not in written:
                    capture = _capture_row(row)
                    capture["meta"] = {"ipnews-role": "further page of a story"}
                    yield capture


@_reading
def verifiable(conn: sqlite3.Connection, ids: list[int] | None = None
               ) -> Iterator[dict[str, Any]]:
    """Each article (those of ids, or all, by id) with the capture its text came from:
    "raw" says whether the stored bytes are there and match their sha256, and "row"
    whether the stored text still has the hash it was stored with."""
    cols = ", ".join(f"a.{f}" for f in ARTICLE_FIELDS)
    ccols = ", ".join(f"c.{c}" for c in CAPTURE_COLUMNS)
    if ids is not None:
        batches: Iterator[list[tuple]] = (conn.execute(
            f"SELECT {cols}, a.capture_id, {ccols} FROM articles a LEFT JOIN captures c ON "
            f"c.id = a.capture_id WHERE a.id = ?", (i,)).fetchall() for i in ids)
    else:
        batches = _id_batches(conn, f"SELECT {cols}, a.capture_id, {ccols} FROM articles a "
                                    "LEFT JOIN captures c ON c.id = a.capture_id WHERE a.id > ? "
                                    "ORDER BY a.id LIMIT 200")
    n = len(ARTICLE_FIELDS)
    for batch in batches:
        for row in batch:
            article = dict(zip(ARTICLE_FIELDS, row[:n], strict=True))
            for name in JSON_FIELDS:
                if name in article and isinstance(article[name], str):
                    article[name] = json.loads(article[name])
            capture = None if row[n] is None or row[n + 1] is None else _capture_row(
                row[n + 1:])
            if row[n] is None:
                raw = "none"  # stored without its page (keep_raw off)
            elif capture is None:
                raw = "missing"
            elif capture["body"] is None:
                raw = "damaged"
            else:
                raw = "intact" if _sha256(capture["body"]) == capture["sha256"] else "altered"
            stored = Article(source=article["source"], url=article["url"],
                             title=article["title"], body=article["body"],
                             summary=article["summary"], attachments=article["attachments"])
            article["text_hash"] = stored.content_hash  # of the text as it is now
            article["row"] = "intact" if stored.content_hash == article["content_hash"] \
                else "altered"
            yield {"article": article, "capture": capture, "raw": raw}


def _id_batches(conn: sqlite3.Connection, sql: str) -> Iterator[list[tuple]]:
    last = 0
    while True:
        rows = conn.execute(sql, (last,)).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


@_reading
def capture_at(conn: sqlite3.Connection, url: str) -> Capture | None:
    """Archive.latest_capture on a reader's connection (`ipnews verify`)."""
    return _newest_capture(conn, url)


def _newest_capture(conn: sqlite3.Connection, url: str, asked: bool = False
                    ) -> Capture | None:
    where = "url = ? OR final_url = ?" if asked else "url = ?"
    row = conn.execute(f"SELECT {', '.join(CAPTURE_COLUMNS)} FROM captures WHERE {where} "
                       "ORDER BY id DESC LIMIT 1", (url, url) if asked else (url,)).fetchone()
    found = None if row is None else _capture_row(row)
    return None if found is None or found["body"] is None else as_capture(found)


def as_capture(found: dict[str, Any], **changes: Any) -> Capture:
    """A Capture of a _capture_row dict (its body read), with changes."""
    fields = {k: found[k] for k in ("url", "final_url", "status", "headers", "fetched_at",
                                    "sha256", "body", "encoding", "exchange", "origin")}
    return Capture(**{**fields, **changes})


@_reading
def evidence(conn: sqlite3.Connection, article_id: int) -> dict[str, Any] | None:
    """What the archive can attest about an article: each text it held (current and
    earlier versions) with the capture it came from, that capture's request and response,
    its digest checked now, the run that stored it and where it came from."""
    row = conn.execute("SELECT id, source, url, title, version, first_seen, last_seen, "
                       "updated_at, content_hash, capture_id FROM articles WHERE id = ?",
                       (article_id,)).fetchone()
    if row is None:
        return None
    keys = ("id", "source", "url", "title", "version", "first_seen", "last_seen",
            "updated_at", "content_hash")
    out: dict[str, Any] = dict(zip(keys, row[:9], strict=True))
    out["urls"] = [{"url": u, "kind": k, "first_seen": f, "last_seen": last}
                   for u, k, f, last in conn.execute(
                       "SELECT url, kind, first_seen, last_seen FROM article_urls WHERE "
                       "article_id = ? ORDER BY first_seen, url", (article_id,))]
    texts = [(v, at, h, c) for v, at, h, c in conn.execute(
        "SELECT version, captured_at, content_hash, capture_id FROM versions WHERE "
        "article_id = ? ORDER BY version", (article_id,))]
    texts.append((out["version"], out["updated_at"] or out["first_seen"], out["content_hash"],
                  row[9]))
    out["captures"] = []
    for version, at, text_hash, capture_id in reversed(texts):  # the current text first
        entry: dict[str, Any] = {"version": version, "text_stored_at": at,
                                 "text_sha256": text_hash, "capture": None}
        found = conn.execute(f"SELECT {', '.join(CAPTURE_COLUMNS)}, size FROM captures "
                             "WHERE id = ?", (capture_id,)).fetchone() if capture_id else None
        if found is not None:
            capture = _capture_row(found[:-1])
            body = capture.pop("body")
            capture["size"] = found[-1]
            capture["sha256_checked"] = (
                "damaged: the stored bytes cannot be read" if body is None else
                "match" if _sha256(body) == capture["sha256"] else
                "MISMATCH: the stored bytes are not the ones recorded")
            run = conn.execute(
                "SELECT id, source, started_at, finished_at, status, ipnews_version, origin "
                "FROM runs WHERE id = ?", (capture["run_id"],)).fetchone() \
                if capture["run_id"] else None
            capture["run"] = None if run is None else dict(zip(
                ("id", "source", "started_at", "finished_at", "status", "ipnews_version",
                 "origin"), run, strict=True))
            entry["capture"] = capture
        out["captures"].append(entry)
    return out


@_reading
def runs(conn: sqlite3.Connection, limit: int = 20, source: str | None = None
         ) -> list[dict[str, Any]]:
    cursor = conn.execute(
        f"SELECT {', '.join(RUN_FIELDS)} FROM runs"
        + (" WHERE source = ?" if source else "") + " ORDER BY id DESC LIMIT ?",
        ((source, limit) if source else (limit,)))
    return [_row(cursor, r) for r in cursor.fetchall()]


@_reading
def source_stats(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Per source: article count and the last run."""
    stats: dict[str, dict[str, Any]] = {}
    for source, count in conn.execute("SELECT source, count(*) FROM articles GROUP BY source"):
        stats.setdefault(source, {})["articles"] = count
    for source, finished, status, health, note in conn.execute(
            "SELECT source, coalesce(finished_at, started_at), status, health, health_note "
            "FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY source)"):
        stats.setdefault(source, {}).update(last_run=finished, last_status=status,
                                            health=health, health_note=note)
    for source, last_ok in conn.execute(
            "SELECT source, max(coalesce(finished_at, started_at)) FROM runs WHERE health = "
            "'ok' GROUP BY source"):
        stats.setdefault(source, {})["last_ok"] = last_ok
    return stats


def integrity_problems(conn: sqlite3.Connection, path: Path,
                       notes: list[str] | None = None) -> list[str]:
    """SQLite's integrity check, FTS5's, the article/index row counts, the captures'
    digests and the text encoding; [] when sound. What could not be checked, and why, is
    appended to notes."""
    problems: list[str] = []
    notes = [] if notes is None else notes
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.extend(f"integrity_check: {r}" for r in result[:20])
        try:
            conn.execute("BEGIN IMMEDIATE")  # waits out a running fetch (busy_timeout)
        except sqlite3.OperationalError as exc:
            problems.append(f"fts index not checked: {exc} (is a fetch running?)")
        else:
            try:
                conn.execute("INSERT INTO articles_fts(articles_fts, rank) "
                             "VALUES('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                if "readonly" in str(exc):
                    # FTS5 runs its structural check as a write: a file on a read-only
                    # mount can only have its row counts compared (below).
                    notes.append("fts index: structure not checked, the file is read-only "
                                 "(its row counts are checked)")
                else:
                    problems.append(f"fts index out of step with articles ({exc}); rebuild "
                                    f"it with: sqlite-utils rebuild-fts {path} articles")
            finally:
                conn.execute("ROLLBACK")
        # count(*) on articles_fts would read the content table; docsize is the index's own.
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        indexed = conn.execute("SELECT count(*) FROM articles_fts_docsize").fetchone()[0]
        if articles != indexed:
            problems.append(f"fts: {indexed} index rows for {articles} articles")

        for (cid, digest, body) in conn.execute("SELECT id, sha256, body FROM captures"):
            try:
                intact = _sha256(zlib.decompress(body)) == digest
            except (zlib.error, TypeError):
                intact = False
            if not intact:
                problems.append(f"captures: capture {cid} does not match its sha256")
        dangling = conn.execute(
            "SELECT count(*) FROM article_urls WHERE article_id NOT IN (SELECT id FROM articles)"
        ).fetchone()[0]
        if dangling:
            problems.append(f"article_urls: {dangling} rows point to no article")
        problems.extend(_not_utf8(conn))
    except sqlite3.DatabaseError as exc:
        problems.append(str(_storage_error(path, exc)))
    return problems


TEXT_COLUMNS = {
    "articles": ("source", "url", "title", "published_at", "authors", "wire_source", "editor",
                 "section", "summary", "tags", "language", "body", "extraction", "flags",
                 "attachments", "topics"),
    "versions": ("title", "summary", "body"),
    "article_urls": ("url", "listing_title"),
}


def _not_utf8(conn: sqlite3.Connection, limit: int = 20) -> list[str]:
    """Text another tool wrote as bytes that are not UTF-8: readers show it with U+FFFD,
    so only a check can tell the stored text is not what was written."""
    found: list[str] = []
    factory = conn.text_factory
    conn.text_factory = bytes
    try:
        for table, columns in TEXT_COLUMNS.items():
            cursor = conn.execute(f"SELECT rowid, {', '.join(columns)} FROM {table}")
            for rowid, *values in cursor:
                for column, value in zip(columns, values, strict=True):
                    if isinstance(value, bytes):
                        try:
                            value.decode("utf-8")
                        except UnicodeDecodeError:
                            found.append(f"{table}: row {rowid} has {column} that is not valid "
                                         "UTF-8 (written by another program?)")
                            if len(found) >= limit:
                                return found
    finally:
        conn.text_factory = factory
    return found


def backup_to(conn: sqlite3.Connection, dest: Path, path: Path) -> None:
    """A consistent copy through SQLite's backup API, written beside dest under a fresh
    name (O_EXCL: never a planted file), synced, then renamed over dest."""
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise StorageError(f"cannot write backup {dest}: {exc.strerror}") from exc
    os.close(fd)
    tmp = Path(name)
    try:
        target = sqlite3.connect(f"file:{quote(str(tmp.absolute()))}?mode=rw", uri=True)
        try:
            # The copy is private until renamed: a journal would only leave litter behind
            # if the copy failed.
            target.execute("PRAGMA journal_mode = OFF")
            conn.backup(target)
        finally:
            target.close()
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        if "disk" in str(exc) or "readonly" in str(exc) or "unable to open" in str(exc):
            raise StorageError(f"cannot write backup {dest}: {exc}") from exc
        raise _storage_error(path, exc) from exc
    except OSError as exc:
        raise StorageError(f"cannot write backup {dest}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)
        beside(tmp, "-journal").unlink(missing_ok=True)
