"""Regressions: each test is a defect found in review, reproduced, then fixed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from conftest import child_env, rows


def test_a_duplicate_with_another_headline_never_rewrites_the_story(mirror, ipnews):
    """The same wire text under a second URL with its own headline was re-fetched every
    run (its listing title differed from the story's) and rewrote the story each time."""
    page = mirror.root / "shine/site/biz/company/2411150067/index.html"
    html = page.read_text("utf-8-sig")
    old_title = html.split("<h1>", 1)[1].split("</h1>", 1)[0]
    page.write_text(html.replace(old_title, "Regulator targets livestream fakes"), "utf-8")
    listing = mirror.root / "shine/site/biz/index.html"
    listing.write_text(listing.read_text("utf-8-sig").replace(
        old_title, "Regulator targets livestream fakes"), "utf-8")
    args = ("fetch", "shine", "--db", str(mirror.db), "--config", str(mirror.config))
    for _ in range(3):
        result = ipnews(*args)
        assert result.code == 0 and "0 updated" in result.err, result.err
    assert rows(mirror.db, "SELECT max(version) FROM articles") == [(1,)]
    assert rows(mirror.db, "SELECT count(*) FROM versions") == [(0,)]


def test_a_page_without_an_article_is_retried_with_refresh(mirror, ipnews):
    slug = "online-video-platform-fined-for-streaming-pirated-films"
    page = mirror.root / "ctplo" / "site" / "blog" / slug / "index.html"
    good = page.read_text("utf-8")
    page.write_text("<html><body><div id=app></div><script>app()</script></body></html>",
                    "utf-8")
    args = ("fetch", "ctplo", "--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews(*args).code == 3
    assert ipnews(*args).code == 0  # remembered: not asked again tomorrow
    page.write_text(good, "utf-8")
    assert ipnews(*args, "--refresh").code == 0
    found = json.loads(ipnews("search", "pirated", "--json", "--db", str(mirror.db)).out)
    assert [r["url"] for r in found] == [f"http://www.ctplo.com/blog/{slug}"]


def test_reextract_keeps_the_capture_link(archive_db, ipnews):
    conn = sqlite3.connect(archive_db)
    conn.execute("UPDATE articles SET body = 'damaged', content_hash = 'x' WHERE id IN (1, 2)")
    conn.commit()
    conn.close()
    assert "2 updated" in ipnews("reextract", "--db", str(archive_db)).err
    assert rows(archive_db, "SELECT count(*) FROM articles WHERE capture_id IS NULL") == [(0,)]
    assert "0 updated, 26 unchanged" in ipnews("reextract", "--db", str(archive_db)).err


def test_a_damaged_capture_is_reported_not_a_crash(archive_db, ipnews):
    conn = sqlite3.connect(archive_db)
    (capture,) = conn.execute("SELECT capture_id FROM articles WHERE id = 1").fetchone()
    conn.execute("UPDATE captures SET body = x'00112233' WHERE id = ?", (capture,))
    conn.commit()
    conn.close()
    check = ipnews("check", "--db", str(archive_db))
    assert check.code == 4 and f"capture {capture} does not match" in check.err
    again = ipnews("reextract", "--db", str(archive_db))
    assert again.code == 3 and "raw capture damaged" in again.err


def test_a_run_that_crashes_is_recorded_as_crashed(mirror, ipnews, monkeypatch):
    import ipnews.pipeline as pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("parser bug")
    monkeypatch.setattr(pipeline.Fetcher, "_process_listing", boom)
    result = ipnews("fetch", "ctplo", "--db", str(mirror.db), "--config", str(mirror.config))
    assert result.code == 1 and "parser bug" in result.err
    assert rows(mirror.db, "SELECT status FROM runs") == [("crashed",)]


def test_one_dead_section_makes_the_run_partial_not_failed(mirror, ipnews):
    (mirror.root / "shine/site/news/metro/index.html").unlink()
    result = ipnews("fetch", "shine", "--db", str(mirror.db), "--config", str(mirror.config))
    assert result.code == 3
    assert "FAILED" not in result.err and "news/metro" in result.err
    assert rows(mirror.db, "SELECT status FROM runs") == [("partial",)]


@pytest.mark.parametrize("fmt", ["--jsonl", "--json", "--csv", "--table"])
def test_export_into_a_closed_pipe_exits_0(archive_db, fmt):
    cmd = (f'"{sys.executable}" -m ipnews export {fmt} --db "{archive_db}" | head -c 10 '
           '>/dev/null; exit ${PIPESTATUS[0]}')
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True,
                          env=child_env(), timeout=60)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("key", ["²", "99999999999999999999999", "١٢", "-1"])
def test_show_with_odd_keys_is_a_usage_error(archive_db, ipnews, key):
    result = ipnews("show", "--db", str(archive_db), "--", key)
    assert result.code == 2 and "no article" in result.err


def test_dates_with_times_compare_as_instants(archive_db, ipnews):
    db = ("--db", str(archive_db))
    day = [r for r in json.loads(ipnews("export", "--json", *db).out)
           if r["published_at"].startswith("2024-11-15")]
    assert len(day) >= 2
    latest = max(r["published_at"] for r in day)
    since = json.loads(ipnews("export", "--json", "--since", latest[:16], *db).out)
    assert min(r["published_at"] for r in since) == latest
    utc = latest[:11] + f"{int(latest[11:13]) - 8:02d}" + latest[13:16] + "Z"
    assert json.loads(ipnews("export", "--json", "--since", utc, *db).out) == since
    until = json.loads(ipnews("export", "--json", "--until", latest[:16], *db).out)
    assert max(r["published_at"] for r in until) == latest  # "on or before"


@pytest.mark.parametrize("command", [("search", "customs"), ("export",), ("runs",)])
def test_an_unknown_source_name_is_a_usage_error(archive_db, ipnews, command):
    result = ipnews(*command, "--source", "bogus", "--db", str(archive_db))
    assert result.code == 2 and "unknown source" in result.err


def test_extract_with_a_source_applies_the_quality_gate(tmp_path, ipnews):
    page = tmp_path / "junk.html"
    page.write_text("<html><body><p>Login</p></body></html>", "utf-8")
    result = ipnews("extract", "--source", "shine", str(page))
    assert result.code == 3 and json.loads(result.out)["body"] == "Login"


def test_query_parameters_do_not_split_a_shine_article():
    from ipnews.sources import get_source_class

    shine = get_source_class("shine")()
    assert shine.canonical("https://www.shine.cn/news/nation/2411150063/?sid=1&pi=2") == \
        "https://www.shine.cn/news/nation/2411150063/"
    assert "sid=3" in shine.canonical("/model.aspx?pi=31&lan=common&sid=3")


@pytest.mark.parametrize(("config", "message"), [
    ("[fetch]\nattempts = 0\n", "fetch.attempts must be more than 0"),
    ("[fetch]\nextract_timeout = 0\n", "more than 0"),
    ("[sources.ctplo]\nenabled = 'false'\n", "enabled must be true or false"),
    ("[sources.shine]\nsections = 'biz'\n", "sections must be a list of strings"),
])
def test_config_values_that_would_break_every_page_are_refused(tmp_path, ipnews, config,
                                                                message):
    path = tmp_path / "config.toml"
    path.write_text(config, "utf-8")
    result = ipnews("fetch", "--config", str(path), "--db", str(tmp_path / "a.db"))
    assert result.code == 2 and message in result.err


def test_backup_errors_name_the_destination(archive_db, tmp_path, ipnews):
    result = ipnews("backup", str(tmp_path / "no" / "dir" / "x.db"), "--db", str(archive_db))
    assert result.code == 4 and "cannot write backup" in result.err
    stale = tmp_path / "b.db.tmp"
    stale.write_bytes(b"\x00" * 5000)
    assert ipnews("backup", str(tmp_path / "b.db"), "--db", str(archive_db)).code == 0
    assert stale.exists()  # someone else's file is left alone


def test_export_does_not_hold_the_writers_back(archive_db, mirror, ipnews):
    """A paused export (a pager, a slow pipe) must not make the nightly fetch fail."""
    from ipnews.store import export, open_reader

    conn = open_reader(archive_db)
    stream = export(conn, batch=5)
    next(stream)  # started, then paused mid-way
    result = ipnews("fetch", "ctplo", "--refresh", "--db", str(archive_db), "--config",
                    str(mirror.config))
    assert result.code == 0, result.err
    assert len(list(stream)) == 25
    conn.close()


@pytest.mark.parametrize("label", ["rot13", "base64", "zlib", "hex", "punycode"])
def test_a_codec_that_is_not_a_text_encoding_is_ignored(label):
    from ipnews.decoding import decode_html

    decoded = decode_html(f'<meta charset="{label}"><p>商标 trademark</p>'.encode())
    assert "商标" in decoded.text and decoded.encoding == "utf-8"


def test_retry_after_with_a_non_ascii_digit_falls_back_to_backoff():
    from ipnews.client import parse_retry_after

    assert parse_retry_after("²") is None and parse_retry_after("3") == 3.0


@pytest.mark.parametrize(("config", "message"), [
    ("[fetch]\ndelay = inf\n", "finite"), ("[fetch]\ntimeout = nan\n", "finite"),
    ('[fetch]\nuser_agent = "ipnews é"\n', "printable ASCII"),
    ("archive = 5\n", "[archive] must be a table"), ('fetch = "x"\n', "[fetch] must be a table"),
    ("[archive]\ndb = 5\n", "archive.db must be a string"),
])
def test_values_that_crashed_the_config_are_usage_errors(tmp_path, ipnews, config, message):
    path = tmp_path / "config.toml"
    path.write_text(config, "utf-8")
    result = ipnews("fetch", "--config", str(path), "--db", str(tmp_path / "a.db"))
    assert result.code == 2 and message in result.err, result.err


def test_delay_option_is_bounded(ipnews, tmp_path):
    assert ipnews("fetch", "--delay", "inf", "--db", str(tmp_path / "a.db")).code == 2


@pytest.mark.parametrize("command", [("export",), ("show", "5"), ("runs",), ("sources",)])
def test_readers_report_a_damaged_archive_as_storage(archive_db, ipnews, command):
    data = bytearray(archive_db.read_bytes())
    for i in range(4096 * 2, min(len(data), 4096 * 40)):
        data[i] ^= 0x5A
    archive_db.write_bytes(bytes(data))
    result = ipnews(*command, "--db", str(archive_db))
    assert result.code == 4, result.err
    assert "Traceback" not in result.err and "internal error" not in result.err


def test_a_foreign_file_with_a_user_version_is_not_an_archive(tmp_path, ipnews):
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    for command in (("export",), ("show", "1"), ("runs",), ("search", "x")):
        result = ipnews(*command, "--db", str(db))
        assert result.code == 4 and "not an ipnews database" in result.err, command


def test_raw_fts_errors_of_any_kind_are_usage_errors(archive_db, ipnews):
    result = ipnews("search", "--fts", "NEAR(customs seized, x)", "--db", str(archive_db))
    assert result.code == 2 and "invalid search syntax" in result.err


def test_an_ip_story_whose_headline_starts_with_error_is_kept():
    from ipnews.article import Article
    from ipnews.extraction import check_quality

    check_quality(Article(source="x", url="u", title="Error-ridden filings: court voids "
                          "bad-faith trademarks", body="The court ruled on Monday. " * 40))


def test_hyphenated_ip_terms_count():
    from ipnews.relevance import is_ip_related

    for text in ("patent-related", "trademark-squatting", "anti-piracy", "copyright-protected",
                 "intellectual-property", "IP-related"):
        assert is_ip_related(text), text


def test_an_unchanged_refetch_stores_no_new_capture(mirror, ipnews):
    args = ("fetch", "ctplo", "--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews(*args).code == 0
    for page in (mirror.root / "ctplo/site/blog").glob("*/index.html"):
        page.write_text(page.read_text("utf-8") + "<!-- rebuilt -->", "utf-8")
    for _ in range(2):
        assert ipnews(*args, "--refresh").code == 0
    # The nine stories' captures, and the last capture of each listing page read.
    assert rows(mirror.db, "SELECT count(*) FROM captures WHERE id NOT IN (SELECT capture_id "
                           "FROM documents)") == [(9,)]
    assert rows(mirror.db, "SELECT count(*) FROM captures") == rows(
        mirror.db, "SELECT 9 + count(*) FROM documents")


@pytest.mark.parametrize("value", ["2024-02-30", "2024-13-99"])
def test_impossible_dates_are_usage_errors(archive_db, ipnews, value):
    assert ipnews("export", "--since", value, "--db", str(archive_db)).code == 2


def test_special_files_are_never_an_archive_or_a_backup(tmp_path, ipnews, archive_db):
    assert ipnews("fetch", "--db", "/dev/null").code == 4
    assert not __import__("pathlib").Path("/dev/null.lock").exists()
    assert ipnews("fetch", "--db", str(tmp_path)).code == 4
    assert not (tmp_path.parent / (tmp_path.name + ".lock")).exists()
    assert ipnews("backup", "/dev/null", "--force", "--db", str(archive_db)).code == 2


def test_bidi_letter_mark_is_removed():
    from ipnews.article import clean_line

    assert clean_line("a\u061cb") == "ab"


def test_a_story_that_failed_on_a_later_listing_page_is_retried(mirror, ipnews):
    slug = "shenzhen-court-awards-record-damages-in-smartphone-patent-case"  # on page 2
    page = mirror.root / "ctplo" / "site" / "blog" / slug / "index.html"
    good = page.read_text("utf-8")
    page.unlink()
    mirror.ctplo.routes[f"/blog/{slug}"] = lambda h: (h.send_response(500), h.send_header(
        "Content-Length", "0"), h.end_headers())
    args = ("fetch", "ctplo", "--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews(*args).code == 3
    del mirror.ctplo.routes[f"/blog/{slug}"]
    page.write_text(good, "utf-8")
    result = ipnews(*args)
    assert result.code == 0 and "1 new" in result.err, result.err
    assert rows(mirror.db, "SELECT count(*) FROM articles") == [(9,)]
    mirror.ctplo.requests.clear()
    assert ipnews(*args).code == 0
    assert mirror.ctplo.pages() == ["/blog/blog-list"]  # nothing pending: back to one page


def test_a_card_headline_unlike_the_page_headline_is_not_refetched_every_run(mirror, ipnews):
    listing = mirror.root / "shine/site/news/nation/index.html"
    html = listing.read_text("utf-8-sig")
    first = html.split("<h2>", 2)[2].split("</h2>", 1)[0]  # the first card's headline
    listing.write_text(html.replace(f"<h2>{first}</h2>", "<h2>Short card title</h2>", 1),
                       "utf-8")
    args = ("fetch", "shine", "--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews(*args).code == 0
    mirror.shine.requests.clear()
    assert ipnews(*args).code == 0
    assert sorted(mirror.shine.pages()) == ["/biz/", "/news/metro/", "/news/nation/"]


def test_show_finds_an_article_by_any_spelling_of_its_url(archive_db, ipnews):
    for key in ("http://shine.cn/biz/company/2411150067",
                "https://www.shine.cn/news/nation/2411150063/?utm_source=x",
                "http://ctplo.com/blog/border-recordal-a-low-cost-tool-against-counterfeit-exports/"):
        result = ipnews("show", key, "--json", "--db", str(archive_db))
        assert result.code == 0, key


def test_read_commands_ignore_config_sections_they_do_not_use(archive_db, tmp_path, ipnews):
    config = tmp_path / "config.toml"
    config.write_text(f"[fetch]\nsome_future_key = 1\n[archive]\ndb = '{archive_db}'\n",
                      "utf-8")
    for command in (("search", "customs"), ("export",), ("runs",), ("check",)):
        assert ipnews(*command, "--config", str(config)).code == 0, command
    assert ipnews("fetch", "--config", str(config)).code == 2  # fetch reads [fetch]


def test_runs_and_sources_tables_fit_80_columns(archive_db, ipnews, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    for command in (("runs",), ("sources",)):
        out = ipnews(*command, "--db", str(archive_db)).out
        assert out and max(len(line) for line in out.splitlines()) <= 80, command
    assert ":" in ipnews("runs", "--db", str(archive_db)).out.splitlines()[2]  # the time shows


def test_csv_without_rows_still_has_its_header(archive_db, ipnews):
    out = ipnews("search", "xylophonist", "--csv", "--db", str(archive_db)).out
    assert out.splitlines() == [",".join(
        ("id", "source", "url", "title", "published_at", "authors", "section", "snippet",
         "score", "bm25", "expansion", "story_id", "also_in", "first_published"))]
    out = ipnews("export", "--csv", "--fields", "id,title", "--since", "2099-01-01",
                 "--db", str(archive_db)).out
    assert out == "id,title\n"


def test_runs_fields_are_checked_on_an_empty_archive(tmp_path, ipnews):
    from ipnews.store import Archive

    Archive.open(tmp_path / "a.db").close()
    assert ipnews("runs", "--fields", "bogus", "--db", str(tmp_path / "a.db")).code == 2
    assert ipnews("runs", "--json", "--db", str(tmp_path / "a.db")).out == "[]\n"


@pytest.mark.parametrize("env", [{}, {"XDG_CONFIG_HOME": "/tmp/cfg", "XDG_DATA_HOME": "/tmp/data"},
                                 {"XDG_CONFIG_HOME": " ", "XDG_DATA_HOME": ""}])
def test_default_paths_are_platformdirs_own_without_importing_it(monkeypatch, env):
    """On Linux the default config and archive paths are computed without platformdirs
    (its import cost `ipnews search` 8 ms); they must be exactly what it would give."""
    import sys
    from pathlib import Path

    from platformdirs import user_config_dir, user_data_dir

    from ipnews.config import default_config_path, default_db_path

    if not sys.platform.startswith("linux"):
        pytest.skip("the shortcut is Linux's")
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert default_config_path() == Path(user_config_dir("ipnews", appauthor=False)) / \
        "config.toml"
    assert default_db_path() == Path(user_data_dir("ipnews", appauthor=False)) / "ipnews.db"
