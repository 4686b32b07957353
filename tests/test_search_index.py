"""The index behind search (issue 11): English word forms meet, Chinese terms are answered
from the index of character pairs exactly where a substring scan finds them, ranked by
bm25, and the snippet shows the match; an archive made before is rebuilt in place."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from ipnews.article import Article
from ipnews.store import SCHEMA_VERSION, Archive, integrity_problems, open_reader, search

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def story(n: int, title: str, body: str, source: str = "cnipa") -> Article:
    return Article(source=source, url=f"https://example.gov.cn/art/{n}.html", title=title,
                   body=body, published_at=f"2026-11-{n % 28 + 1:02d}")


@pytest.fixture
def archive(tmp_path: Path):
    archive = Archive.open(tmp_path / "a.db")
    yield archive
    archive.close()


def found(archive: Archive, query: str, **options: object) -> list[dict]:
    return search(archive.conn, query, limit=1000, **options)  # type: ignore[arg-type]


def test_english_word_forms_meet_and_phrases_still_hold(archive):
    texts = {
        1: ("Customs seizes counterfeit sneakers", "Officers made a seizure of fake goods."),
        2: ("Court voids squatted trademarks", "The trademarks were filed in bad faith."),
        3: ("Brand trademarked in 2019", "The owner trademarked the logo in 2019."),
        4: ("Patents granted rise", "Counterfeits and patents are in the report; trade "
                                   "secrets too."),
        5: ("A secret trade route", "Nothing about IP: a secret trade in spices."),
    }
    for n, (title, body) in texts.items():
        archive.save(story(n, title, body * 12, source="shine"))
    ids = {r["url"].rsplit("/", 1)[1][:-5] for r in found(archive, "trademark")}
    assert ids == {"2", "3"}
    assert {r["url"][-6] for r in found(archive, "seizures")} == {"1"}
    assert {r["url"][-6] for r in found(archive, "counterfeit")} == {"1", "4"}
    assert {r["url"][-6] for r in found(archive, "patent")} == {"4"}
    # A phrase keeps its order: "trade secrets" is not "secret trade".
    assert {r["url"][-6] for r in found(archive, '"trade secret"')} == {"4"}
    snippet = found(archive, "trademark")[0]["snippet"]
    assert "**trademarks**" in snippet.lower() or "**trademarked**" in snippet.lower()


def _chinese_corpus() -> list[tuple[str, str, str]]:
    """Title and text of every Chinese fixture article (our own text, three sources)."""
    out = []
    for name in ("cnipa", "people-ip", "ipcourt"):
        for golden in sorted((FIXTURES / name / "expected").glob("*.json")):
            e = json.loads(golden.read_text("utf-8"))["expected"]
            out.append((e["title"], e["summary"] or "", e["body"]))
    return out


def test_chinese_terms_have_the_recall_of_a_substring_scan(archive):
    """Every two-, three- and four-character term drawn from the corpus (and some that
    straddle punctuation, or are absent) is found in exactly the articles that contain
    it: the index of pairs answers as LIKE would, without the scan."""
    corpus = _chinese_corpus()
    assert len(corpus) >= 20
    for n, (title, summary, body) in enumerate(corpus, 1):
        archive.save(Article(source="cnipa", url=f"https://example.gov.cn/{n}.html",
                             title=title, summary=summary or None, body=body))
    rng = random.Random(11)
    terms = {"知识产权", "商标", "专利", "海关", "侵权", "最高人民法院", "技术秘密", "裁判"}
    while len(terms) < 200:
        _title, _summary, body = rng.choice(corpus)
        start = rng.randrange(max(1, len(body) - 4))
        term = body[start:start + rng.choice((2, 3, 4))]
        if all("\u4e00" <= ch <= "\u9fff" for ch in term):
            terms.add(term)
    terms |= {"识产知", "权知识"}  # absent, though every character and pair is present
    conn = archive.conn
    for term in sorted(terms):
        want = {r[0] for r in conn.execute(
            "SELECT url FROM articles WHERE instr(title || ' ' || coalesce(summary, '') || "
            "' ' || body, ?) > 0", (term,))}
        got = {r["url"] for r in found(archive, term)}
        assert got == want, term
    plan = " ".join(str(r) for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT rowid FROM articles_fts WHERE articles_fts MATCH "
        "'{zh_title zh_text} : \"知识 识产 产权\"'"))
    assert "VIRTUAL TABLE INDEX" in plan  # answered from the index, not a scan


def test_chinese_results_are_ranked_and_their_snippets_show_the_match(archive):
    archive.save(story(1, "海关查获一批侵权商品", "海关在口岸查获侵权商品。" * 3
                       + "这是一段与案件无关的说明文字。" * 30))
    archive.save(story(2, "地方市场监管动态", "今年以来，各地开展多项检查。" * 30
                       + "其中一起案件由海关移交。"))
    archive.save(story(3, "Customs and 海关 in one brief",
                       "Shanghai customs (上海海关) seized fake watches. " * 10))
    results = found(archive, "海关")
    # bm25: the long text that says it once, at its end, comes last.
    assert [r["url"][-6] for r in results][-1] == "2" and len(results) == 3
    # In every story, its bm25 is next to nothing; the score still tells them apart.
    assert results[0]["score"] == 1.0 and 0 < results[-1]["score"] < 1
    assert all(r["bm25"] > 0 for r in results)
    assert all("**海关**" in r["snippet"] for r in results)
    late = next(r for r in results if r["url"][-6] == "2")
    assert "**海关**移交" in late["snippet"]  # the window moves to a match far in the text
    mixed = found(archive, "customs 海关")
    assert [r["url"][-6] for r in mixed] == ["3"]
    assert "**customs**" in mixed[0]["snippet"].lower() and "**海关**" in mixed[0]["snippet"]
    title_only = found(archive, "市场监管")
    assert [r["url"][-6] for r in title_only] == ["2"]
    assert "**市场监管**" in title_only[0]["snippet"]  # a title match is shown, highlighted


def v4_archive(db: Path, monkeypatch: pytest.MonkeyPatch,
               stories: list[tuple[str, str]]) -> None:
    """An archive at schema v4 (the main of issue 10) holding stories as its code stored
    them: no pairs columns, no topics, the old index."""
    from ipnews import store

    with monkeypatch.context() as m:
        m.setattr(store, "MIGRATIONS", store.MIGRATIONS[:4])
        m.setattr(store, "SCHEMA_VERSION", 4)
        Archive.open(db).close()
    with sqlite3.connect(db) as conn:
        for n, (title, body) in enumerate(stories, 1):
            a = story(n, title, body)
            conn.execute("INSERT INTO articles (source, url, title, body, body_hash, "
                         "content_hash, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (a.source, a.url, a.title, a.body, a.body_hash, a.content_hash, "x",
                          "x"))
    conn.close()


def test_an_archive_of_schema_v4_is_rebuilt_in_place_and_searched_meanwhile(
        tmp_path, monkeypatch):
    """The index of an archive made before this change (v4) cannot find plurals or rank
    Chinese. Searching it read-only still works (Chinese by a scan); the next writer
    rebuilds the index in its migration, with progress, and the archive checks clean."""
    from ipnews import store

    db = tmp_path / "old.db"
    v4_archive(db, monkeypatch, [
        ("Customs seize counterfeits", "Fake goods seized by customs. " * 20),
        ("海关查获侵权商品", "海关在口岸查获侵权运动鞋。" * 20)])
    reader = open_reader(db)
    assert [r["title"] for r in search(reader, "查获")] == ["海关查获侵权商品"]
    assert search(reader, "counterfeit") == []  # the v4 index has no word forms
    reader.close()
    seen: list[tuple[str, int, int]] = []
    monkeypatch.setattr(store, "migration_progress", lambda what, done, total: seen.append(
        (what, done, total)))
    archive = Archive.open(db)
    assert seen == [("search index", 2, 2), ("stories and entities", 2, 2)]
    assert archive.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [r["title"] for r in found(archive, "counterfeit")] == ["Customs seize counterfeits"]
    assert [r["title"] for r in found(archive, "查获")] == ["海关查获侵权商品"]
    assert integrity_problems(archive.conn, db) == []
    archive.close()


def test_a_migration_interrupted_leaves_the_old_archive_whole(tmp_path, monkeypatch):
    from ipnews import store

    db = tmp_path / "old.db"
    v4_archive(db, monkeypatch, [("Customs", "Customs text. " * 20)])

    def interrupted(what: str, done: int, total: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "migration_progress", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Archive.open(db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 4  # rolled back whole
    assert "zh_title" not in {r[1] for r in conn.execute("PRAGMA table_info(articles)")}
    conn.close()
    monkeypatch.setattr(store, "migration_progress", None)
    Archive.open(db).close()  # and the next open completes it
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_sqlite_utils_and_plain_sqlite_find_chinese_two_character_terms(archive):
    """The index is a plain FTS5 table: other tools find a two-character term, which is a
    token of the pairs columns, with no extension loaded."""
    import sqlite_utils

    archive.save(story(1, "海关查获侵权商品", "海关在口岸查获侵权运动鞋。" * 20))
    db = sqlite_utils.Database(archive.path)
    assert [r["title"] for r in db["articles"].search("海关")] == ["海关查获侵权商品"]
    plain = sqlite3.connect(archive.path)
    assert plain.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH "
                         "'侵权'").fetchone() == (1,)
    plain.close()


def _on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    """Run ipnews with stdout and stderr on a pseudo-terminal each."""
    import os
    import pty
    import subprocess
    import sys

    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "ipnews", *args], stdout=out_slave,
                            stderr=err_slave, stdin=subprocess.DEVNULL, env=env)
    os.close(out_slave)
    os.close(err_slave)
    proc.wait(timeout=60)

    def drain(fd: int) -> str:
        chunks = []
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(fd)
        return b"".join(chunks).decode("utf-8", "replace")

    return drain(out_master), drain(err_master)


def test_no_results_says_so_on_a_terminal_and_nothing_in_a_pipe(archive, ipnews):
    from conftest import child_env

    archive.save(story(1, "Customs seize counterfeits", "Fake goods seized. " * 20))
    out, err = _on_a_terminal(["search", "moonstone", "--db", str(archive.path)],
                              child_env())
    assert out.strip() == "" and "no results" in err
    piped = ipnews("search", "moonstone", "--db", str(archive.path))
    assert piped.code == 0 and piped.out == "" and piped.err == ""


def test_the_migration_shows_its_progress_on_a_terminal(tmp_path, monkeypatch):
    from conftest import child_env

    db = tmp_path / "old.db"
    v4_archive(db, monkeypatch, [(f"Customs {n}", "Customs text. " * 20) for n in (1, 2)])
    _out, err = _on_a_terminal(["reextract", "--db", str(db)], child_env())
    assert "upgrading the archive: search index, 2 of 2 articles" in err, err
    assert "Traceback" not in err
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_glossary_terms_find_the_other_language_unless_exact(tmp_path, ipnews):
    archive = Archive.open(tmp_path / "g.db")
    archive.save(story(1, "Shanghai customs seize fake trademarks",
                       "Customs officers seized goods bearing fake trademarks. " * 10,
                       source="shine"))
    archive.save(story(2, "上海海关查获侵权商品", "海关查获假冒商标的运动鞋。" * 10))
    archive.save(story(3, "品牌保护新举措", "多家企业加强品牌保护。" * 10))
    archive.close()
    config = tmp_path / "config.toml"
    config.write_text('[search]\nglossary = [["brand protection", "品牌保护"]]\n', "utf-8")
    db = ("--db", str(tmp_path / "g.db"), "--config", str(config))

    def titles(*args: str) -> tuple[set[str], list[dict]]:
        result = ipnews("search", *args, "--json", *db)
        assert result.code == 0, result.err
        rows = json.loads(result.out)
        return {r["title"] for r in rows}, rows

    both = {"Shanghai customs seize fake trademarks", "上海海关查获侵权商品"}
    got, rows = titles("customs")
    assert got == both and rows[0]["expansion"] == {"customs": ["海关"]}
    assert any("**海关**" in r["snippet"] for r in rows)
    assert titles("customs", "--exact")[0] == {"Shanghai customs seize fake trademarks"}
    assert titles("商标")[0] == both  # Chinese to English: trademark(s)
    assert titles("商标", "--exact")[0] == {"上海海关查获侵权商品"}
    assert titles('"brand protection"')[0] == {"品牌保护新举措"}  # the user's own group
    config.write_text('[search]\nglossary = ["brand protection"]\n', "utf-8")
    bad = ipnews("search", "customs", *db)
    assert bad.code == 2 and "search.glossary" in bad.err and "Traceback" not in bad.err


@pytest.mark.parametrize(("title", "body", "want"), [
    ("Shanghai customs seize counterfeit sneakers",
     "Officers found 4,000 pairs of fake goods at the port. " * 3, ["counterfeiting", "customs"]),
    ("上海海关查获侵权运动鞋", "海关在口岸查获假冒商标运动鞋一批。" * 3,
     ["trademark", "counterfeiting", "customs"]),
    ("最高法知识产权法庭二审改判一起外观设计专利侵权案",
     "法庭判决被告赔偿经济损失。二审法院认定构成侵权。", ["patent", "courts"]),
    ("Carmakers settle patent dispute by cross-licensing",
     "The two companies agreed to license their battery patents; a patent pool follows.",
     ["patent", "licensing"]),
    # An English term next to Chinese characters (no space between them) is still a term.
    ("据CNIPA统计", "今年前十个月，CNIPA授权发明专利47.6万件。", ["patent", "policy"]),
    ("Chengdu opens driverless metro line", "The line links the airport and the rail hub. "
     "Passengers praised it.", []),
    # One passing mention in the text is not what a story is about.
    ("City unveils trademark guide", "The guide also mentions one patent.", ["trademark"]),
])
def test_topics_from_bilingual_rules(title, body, want):
    from ipnews.topics import topics_of

    assert topics_of(title, None, body) == want


def test_topics_filter_search_and_export_and_reextract_retags(archive_db, ipnews):
    db = ("--db", str(archive_db))
    conn = sqlite3.connect(archive_db)
    tagged = dict(conn.execute("SELECT id, topics FROM articles"))
    assert any("customs" in json.loads(t) for t in tagged.values())
    customs = {i for i, t in tagged.items() if "customs" in json.loads(t)}
    found = json.loads(ipnews("search", "customs", "--topic", "customs", "--json", *db).out)
    assert {r["id"] for r in found} <= customs and found
    exported = [json.loads(line) for line in
                ipnews("export", "--topic", "customs", "--jsonl", *db).out.splitlines()]
    assert {r["id"] for r in exported} == customs
    assert all("customs" in r["topics"] for r in exported)
    bad = ipnews("search", "customs", "--topic", "sneakers", *db)
    assert bad.code == 2 and "unknown topic 'sneakers'" in bad.err
    # Rules change: reextract re-tags what it stored, without new versions.
    with conn:
        conn.execute("UPDATE articles SET topics = '[]'")
    conn.close()
    assert ipnews("reextract", "-q", *db).code == 0
    conn = sqlite3.connect(archive_db)
    assert dict(conn.execute("SELECT id, topics FROM articles")) == tagged
    assert conn.execute("SELECT max(version) FROM articles").fetchone() == (1,)
    conn.close()
