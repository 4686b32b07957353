"""Synthetic archives for the search benchmark, cached under bench/.cache/.

The file is created by ipnews itself (`Archive.open`), so schema, indexes, the FTS5 table
and its tokenizer are exactly the real ones. Rows are then bulk-inserted with plain sqlite3:
going through `Archive.save` (one transaction per article, FTS kept by triggers) costs
~0.5 ms per row, 9 minutes for 1M, for a file that would be the same.

The FTS triggers are dropped for the insert and the index is built afterwards with FTS5's
'rebuild' command, so "time to build the index" is measured on its own; the triggers are
then recreated from their original SQL, leaving the file as ipnews would have it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import corpus
from measure import CACHE

from ipnews.store import SCHEMA_VERSION, TOKENIZE, Archive

SEEN_AT = "2025-12-31T00:00:00+00:00"


def cache_path(n: int, seed: int = corpus.DEFAULT_SEED, pairs: bool = True,
               stem: bool = True) -> Path:
    """Keyed by size, generator version, seed and ipnews schema: any change rebuilds."""
    return CACHE / (f"archive-{n}-g{corpus.GENERATOR_VERSION}-zh{corpus.ZH_ARTICLE_SHARE:g}"
                    f"-s{seed}-v{SCHEMA_VERSION}"
                    + ("" if pairs else "-nopairs") + ("" if stem else "-nostem") + ".db")


def _rows(c: corpus.Corpus, n: int, counts: dict[str, int], pairs: bool = True
          ) -> Iterator[tuple]:
    from ipnews.bigrams import index_text

    for i in range(n):
        a = c.make(i)
        for term, present in a.has_terms.items():
            counts[term] += present
        counts["chinese"] += any("，" in p for p in a.paragraphs)
        counts["zh_articles"] += a.language == "zh"
        text = f"{a.title} {a.summary} {a.body}"
        for term in corpus.ZH_TERMS:
            counts[term] += term in text
        body_hash = corpus.sha256_text(a.body)
        content_hash = corpus.sha256_text(f"{a.title}\n{a.summary}\n{a.body}")
        url = (f"https://www.shine.cn/news/nation/{a.published:%y%m%d}{i:07d}/"
               if a.source == "shine" else f"http://www.ctplo.com/blog/synthetic-post-{i}"
               if a.source == "ctplo" else f"https://example.gov.cn/{a.source}/{i}.html")
        zh = (index_text(a.title), index_text(a.summary, a.body)) if pairs else ("", "")
        yield (a.source, url, a.title, a.published_at, json.dumps([a.author]), a.section,
               a.summary, a.language, a.body, body_hash, content_hash, SEEN_AT, SEEN_AT, *zh)


def bulk_file(path: Path) -> tuple[Path, sqlite3.Connection, list[str]]:
    """A new archive made by ipnews beside path (<name>.building), open for a bulk insert:
    no journal, no fsync, a large page cache, the articles' triggers dropped (their SQL
    is returned, to make them again once the rows are in)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    Archive.open(tmp).close()
    # ipnews remembers the state it left the file in (<db>.verified); we rewrite the file
    # below and rename it, so that marker would be stale and orphaned.
    tmp.with_name(tmp.name + ".verified").unlink(missing_ok=True)
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                            "AND tbl_name = 'articles'").fetchall()
    for name, _ in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    return tmp, conn, [sql for _, sql in triggers]


def fill(conn: sqlite3.Connection, triggers: list[str], rows: Iterator[tuple],
         columns: tuple[str, ...]) -> tuple[float, float]:
    """Insert the rows into a bulk_file() in one transaction, build the FTS index once,
    make the triggers again; return the seconds the insert and the index took."""
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO articles ({', '.join(columns)}) VALUES "
                     f"({', '.join('?' * len(columns))})", rows)
    conn.execute("COMMIT")
    insert_s = time.perf_counter() - start
    start = time.perf_counter()
    conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    index_s = time.perf_counter() - start
    for sql in triggers:
        conn.execute(sql)
    return insert_s, index_s


def build(path: Path, n: int, seed: int = corpus.DEFAULT_SEED, pairs: bool = True,
          stem: bool = True) -> dict:
    """Write an archive of n synthetic articles to path; return what it took. pairs=False
    leaves the Chinese pairs columns empty: the size the Chinese index adds. stem=False
    indexes without the porter stemmer (unicode61 alone, as before schema v5): what
    stemming costs a query, everything else equal."""
    tmp, conn, triggers = bulk_file(path)
    if not stem:
        (fts_sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_fts'"
                                  ).fetchone()
        assert TOKENIZE in fts_sql, fts_sql
        conn.execute("DROP TABLE articles_fts")
        conn.execute(fts_sql.replace(TOKENIZE, TOKENIZE.removeprefix("porter ")))
    c = corpus.Corpus(seed, zh_share=corpus.ZH_ARTICLE_SHARE)
    counts = dict.fromkeys([*c.term_pools, "chinese", "zh_articles", *corpus.ZH_TERMS], 0)
    insert_s, index_s = fill(conn, triggers, _rows(c, n, counts, pairs), (
        "source", "url", "title", "published_at", "authors", "section", "summary", "language",
        "body", "body_hash", "content_hash", "first_seen", "last_seen", "zh_title", "zh_text"))
    text_bytes = conn.execute(
        "SELECT sum(length(CAST(title AS BLOB)) + length(CAST(coalesce(summary, '') AS BLOB))"
        " + length(CAST(body AS BLOB))) FROM articles").fetchone()[0]
    conn.close()
    os.replace(tmp, path)
    meta = {"n": n, "seed": seed, "generator": corpus.GENERATOR_VERSION,
            "zh_share": corpus.ZH_ARTICLE_SHARE,
            "insert_s": round(insert_s, 2), "index_s": round(index_s, 2),
            "text_bytes": text_bytes, "file_bytes": path.stat().st_size,
            "doc_counts": counts, "sqlite": sqlite3.sqlite_version,
            "built_at": time.strftime("%Y-%m-%d %H:%M")}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return meta


def ensure(n: int, seed: int = corpus.DEFAULT_SEED, log=print, pairs: bool = True,
           stem: bool = True) -> tuple[Path, dict]:
    """The cached archive of n articles, built first if missing. Returns (path, meta);
    meta["cached"] says whether this run built it."""
    path = cache_path(n, seed, pairs, stem)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        meta["cached"] = True
        return path, meta
    log(f"building a synthetic archive of {n:,} articles in {path} ...")
    meta = build(path, n, seed, pairs, stem)
    meta["cached"] = False
    return path, meta
