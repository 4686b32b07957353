"""Issue 7, "a hostile week": each test is named after its row (W1-W14 for the numbered
rows, Wminor for the minor ones, Wuser for what a new user found) and failed before the
fix it guards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import child_env, rows, run_child
from test_process import assert_sound, count, start_child, wait_for

STRACE = shutil.which("strace")


def db_args(mirror) -> tuple[str, ...]:
    return ("--db", str(mirror.db), "--config", str(mirror.config))


# --- W1: nothing is written through a link or into a special file ------------------------
@pytest.mark.parametrize("suffix", [".verified", ".lock", "-journal", "-wal", "-shm"])
@pytest.mark.parametrize("command", ["fetch", "reextract"])
def test_W1_a_symlink_beside_the_archive_is_refused_and_its_target_untouched(
        archive_db, mirror, ipnews, tmp_path, suffix, command):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", "utf-8")
    link = archive_db.with_name(archive_db.name + suffix)
    link.unlink(missing_ok=True)
    link.symlink_to(victim)
    result = ipnews(command, "--db", str(archive_db), "--config", str(mirror.config))
    assert result.code == 4, result.err
    assert "symbolic link" in result.err and str(link) in result.err
    assert victim.read_text("utf-8") == "precious"
    assert link.is_symlink()


def test_W1_the_verified_marker_is_replaced_atomically_by_a_regular_file(archive_db, mirror,
                                                                          ipnews):
    marker = archive_db.with_name(archive_db.name + ".verified")
    marker.unlink(missing_ok=True)
    os.link(archive_db, marker)  # a hard link to the archive: rewriting the marker in
    assert ipnews("reextract", "-q", "--db", str(archive_db), "--config",  # place would
                  str(mirror.config)).code == 0  # overwrite the archive; replacing it does not
    assert archive_db.read_bytes().startswith(b"SQLite format 3\x00")
    assert_sound(archive_db)
    st = archive_db.stat()
    assert marker.read_text("ascii") == f"{st.st_size} {st.st_mtime_ns}"
    assert os.stat(marker).st_ino != st.st_ino
    assert not list(archive_db.parent.glob("*.tmp"))


def test_W1_a_lock_file_that_is_a_fifo_is_refused(mirror, ipnews):
    lock = mirror.db.with_name(mirror.db.name + ".lock")
    os.mkfifo(lock)
    result = ipnews("fetch", "ctplo", *db_args(mirror))
    assert result.code == 4 and "not a regular file" in result.err, result.err


def test_W1_backup_refuses_to_write_through_a_symlink(archive_db, ipnews, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", "utf-8")
    dest = tmp_path / "backup.db"
    dest.symlink_to(victim)
    result = ipnews("backup", str(dest), "--force", "--db", str(archive_db))
    assert result.code == 2 and "symbolic link" in result.err
    assert victim.read_text("utf-8") == "precious"


# --- W2: a story judged "not about IP" is judged again when the judge changes ----------
def _skipped(db: Path) -> list[tuple]:
    return rows(db, "SELECT url, checked_with FROM url_status WHERE status = 'skipped'")


def test_W2_a_skip_by_an_older_decoder_or_term_list_is_judged_again(mirror, ipnews):
    args = ("fetch", "shine", *db_args(mirror))
    assert ipnews(*args).code == 0
    [(url, stamp)] = _skipped(mirror.db)
    assert stamp and "decoder" in stamp and "terms" in stamp
    path = url.split("shine.cn", 1)[1]
    conn = sqlite3.connect(mirror.db)
    conn.execute("UPDATE url_status SET checked_with = 'decoder 1, terms old'")
    conn.commit()
    conn.close()
    mirror.shine.requests.clear()
    assert ipnews(*args).code == 0
    assert path in mirror.shine.requests  # fetched and judged again, though on no new page
    assert _skipped(mirror.db) == [(url, stamp)]  # still not about IP, judged by today's
    mirror.shine.requests.clear()
    assert ipnews(*args).code == 0
    assert path not in mirror.shine.requests  # settled until the judge changes again
    assert ipnews(*args, "--refresh").code == 0
    assert path in mirror.shine.requests  # --refresh judges it again too


def test_W2_an_archive_from_before_the_fix_recovers_a_lost_chinese_story(mirror, ipnews):
    """A v1 archive recorded a GBK story as skipped (mis-decoded): after the upgrade the
    story is fetched again, read right and kept."""
    page = mirror.root / "shine/site/news/nation/2411058105/index.html"
    html = page.read_text("utf-8-sig")
    chinese = "上海海关查获假冒商标手表一万余只"
    html = html.replace("<h1>", f"<h1>{chinese} ", 1)  # still labelled utf-8, as in the wild
    page.write_bytes(html.encode("gb18030"))
    args = ("fetch", "shine", *db_args(mirror))
    assert ipnews(*args).code == 0
    url = "https://www.shine.cn/news/nation/2411058105/"
    assert rows(mirror.db, "SELECT title FROM articles WHERE url = ?", url)[0][0].startswith(
        chinese)
    # What the old decoder left: the story recorded as skipped, judged by no known stamp.
    conn = sqlite3.connect(mirror.db)
    conn.execute("DELETE FROM article_urls WHERE article_id = (SELECT id FROM articles "
                 "WHERE url = ?)", (url,))
    conn.execute("DELETE FROM articles WHERE url = ?", (url,))
    conn.execute("INSERT INTO url_status (url, source, status, detail, first_seen, last_seen)"
                 " VALUES (?, 'shine', 'skipped', 'not about IP: ÉÏº£º£¹Ø', '2024', '2024')",
                 (url,))
    conn.commit()
    conn.close()
    assert ipnews(*args).code == 0
    assert rows(mirror.db, "SELECT count(*) FROM articles WHERE url = ?", url) == [(1,)]
    found = json.loads(ipnews("search", "海关", "--json", "--db", str(mirror.db)).out)
    assert url in [r["url"] for r in found]


# --- W3: a hot journal is rolled back by the next reader or writer ------------------------
def _fetch_killed(mirror, syscalls: str, when: int, path: Path | None = None
                  ) -> subprocess.CompletedProcess:
    """A real SIGKILL, delivered by strace at the when-th call of syscalls: the fsyncs and
    the journal's unlink are the steps of SQLite's COMMIT."""
    cmd = [STRACE, "-f", "-qq", "-o", os.devnull, "-e", f"trace={syscalls}",
           "-e", f"inject={syscalls}:signal=KILL:when={when}"]
    if path is not None:
        cmd += ["-P", str(path)]
    cmd += [sys.executable, "-m", "ipnews", "fetch", "shine", *db_args(mirror)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=child_env())


READERS = [("search", "customs"), ("export", "--json"), ("show", "1"), ("runs",), ("sources",),
           ("check",)]


@pytest.mark.skipif(STRACE is None, reason="needs strace to kill inside COMMIT")
@pytest.mark.parametrize(("syscalls", "when", "on_journal"), [
    # SQLite syncs four times per COMMIT here (journal twice, then the file): a kill at
    # the third or fourth leaves a hot journal over a half-written file.
    ("fdatasync,fsync", 3, False), ("fdatasync,fsync", 8, False),
    ("fdatasync,fsync", 11, False), ("fdatasync,fsync", 16, False),
    ("unlink", 1, True), ("unlink", 3, True), ("unlink", 6, True),
])
def test_W3_kill_inside_commit_then_every_command_works(mirror, tmp_path, syscalls, when,
                                                       on_journal):
    base = ("--db", str(mirror.db))
    assert run_child(["fetch", "ctplo", *db_args(mirror)]).returncode == 0
    journal = mirror.db.with_name(mirror.db.name + "-journal")
    killed = _fetch_killed(mirror, syscalls, when, journal if on_journal else None)
    assert killed.returncode in (137, -9), killed.stderr
    assert journal.exists() and journal.stat().st_size > 0, "no kill inside COMMIT"
    probe = sqlite3.connect(f"file:{mirror.db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):  # what readers met
        probe.execute("SELECT count(*) FROM articles").fetchone()
    probe.close()
    saved = tmp_path / "hot"
    saved.mkdir()
    shutil.copy2(mirror.db, saved / "db")
    shutil.copy2(journal, saved / "journal")
    for command in [*READERS, ("backup", str(tmp_path / "copy.db"), "--force")]:
        # Each reader meets the hot journal: restore it, as the kill left it.
        shutil.copy2(saved / "db", mirror.db)
        shutil.copy2(saved / "journal", journal)
        done = run_child([*command, *base])
        assert done.returncode == 0, (command, done.stderr)
        assert not journal.exists()  # rolled back
        assert_sound(mirror.db)
    shutil.copy2(saved / "db", mirror.db)
    shutil.copy2(saved / "journal", journal)
    again = run_child(["fetch", "shine", *db_args(mirror)])
    assert again.returncode == 0, again.stderr
    assert_sound(mirror.db)
    assert count(mirror.db) == 9 + 17


# --- W5: a query's size and cost are bounded, and Ctrl-C stops it -------------------------
@pytest.mark.parametrize("query", [
    ["customs"] * 2_000, ["商"] * 1, ["a OR"] * 2_000 + ["a"], ["x" * 5_000]])
def test_W5_oversized_queries_are_usage_errors_at_once(archive_db, ipnews, query):
    if query == ["商"]:
        query = ["商" * 40_000]
    raw = ["--fts"] if query[0] == "a OR" else []
    started = time.monotonic()
    result = ipnews("search", *raw, " ".join(query), "--db", str(archive_db))
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert "query" in result.err
    assert time.monotonic() - started < 10  # a hang guard; the bound itself is in store


def test_W5_repeated_words_ask_once(archive_db, ipnews):
    once = json.loads(ipnews("search", "customs", "--json", "--db", str(archive_db)).out)
    many = json.loads(ipnews("search", " ".join(["customs"] * 30), "--json",
                             "--db", str(archive_db)).out)
    assert [r["id"] for r in many] == [r["id"] for r in once] and once


SLOW = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT count(*) FROM c WHERE x < 0")  # never ends on its own


def test_W5_a_search_that_runs_too_long_is_stopped_with_a_usage_error():
    from ipnews.errors import UsageError
    from ipnews.store import _bounded

    conn = sqlite3.connect(":memory:")
    started = time.monotonic()
    with pytest.raises(UsageError, match="longer than"), _bounded(conn, 0.3):
        conn.execute(SLOW).fetchone()
    assert time.monotonic() - started < 5


def test_W5_ctrl_c_stops_a_running_query():
    code = ("import sqlite3, sys\n"
            "from ipnews.store import _bounded\n"
            "conn = sqlite3.connect(':memory:')\n"
            "print('ready', flush=True)\n"
            "try:\n"
            f"    with _bounded(conn, 60):\n        conn.execute({SLOW!r}).fetchone()\n"
            "except KeyboardInterrupt:\n    sys.exit(130)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             env=child_env())
    assert child.stdout.readline() == "ready\n"
    time.sleep(0.3)
    started = time.monotonic()
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=10) == 130
    assert time.monotonic() - started < 5
    child.stdout.close()


# --- W6: check on a read-only mount ----------------------------------------------------------
@pytest.fixture
def readonly_mount(tmp_path):
    point = tmp_path / "ro"
    point.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs",
                                            str(point)], capture_output=True).returncode:
        pytest.skip("needs root to mount a read-only file system")
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_W6_check_on_a_read_only_mount_passes_a_healthy_archive(archive_db, readonly_mount,
                                                                ipnews):
    db = readonly_mount / "archive.db"
    shutil.copy(archive_db, db)
    assert subprocess.run(["mount", "-o", "remount,ro", str(readonly_mount)]).returncode == 0
    result = ipnews("check", "--db", str(db))
    assert result.code == 0, result.err
    assert "read-only" in result.err and "ok:" in result.err
    assert ipnews("search", "customs", "--db", str(db)).code == 0


# --- W7: text that is not UTF-8 -----------------------------------------------------------
def test_W7_a_title_that_is_not_utf8_breaks_no_command_and_check_finds_it(archive_db, mirror,
                                                                           ipnews):
    conn = sqlite3.connect(archive_db)
    conn.execute("UPDATE articles SET title = CAST(x'437573746f6d73ff20626c6f636b' AS TEXT) "
                 "WHERE id = 1")
    conn.commit()
    conn.close()
    base = ("--db", str(archive_db))
    shown = json.loads(ipnews("show", "1", "--json", *base).out)[0]
    assert shown["title"] == "Customs\ufffd block"
    assert ipnews("export", "--jsonl", *base).code == 0
    assert ipnews("search", "customs", *base).code == 0
    assert ipnews("fetch", "--refresh", "--max-pages", "1", *db_args(mirror)[2:], *base
                  ).code == 0
    check = ipnews("check", *base)
    assert check.code == 4 and "row 1 has title that is not valid UTF-8" in check.err


# --- W8: file input is capped like network input -------------------------------------------
@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_W8_extract_refuses_what_is_not_a_regular_file(tmp_path, target):
    if target == "fifo":
        target = str(tmp_path / "fifo")
        os.mkfifo(target)
    done = run_child(["extract", target], timeout=30)
    assert done.returncode == 2 and "not a regular file" in done.stderr, done.stderr


def test_W8_extract_refuses_a_file_over_the_cap(tmp_path, ipnews):
    page = tmp_path / "big.html"
    with page.open("wb") as f:
        f.truncate(11 * 1024 * 1024)
    result = ipnews("extract", str(page))
    assert result.code == 2 and "larger than" in result.err


# --- W9: reextract stops cleanly on SIGTERM ---------------------------------------------------
def test_W9_sigterm_stops_reextract_between_articles(archive_db):
    conn = sqlite3.connect(archive_db)  # every article needs work: the run takes a while
    conn.execute("UPDATE articles SET body = 'damaged', content_hash = 'x'")
    conn.execute(  # and there are 20 times as many, so that the signal comes mid-way
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) "
        "INSERT INTO articles (source, url, title, body, body_hash, content_hash, version, "
        "first_seen, last_seen, capture_id, published_at, authors, section, summary) "
        "SELECT source, url || '#' || i, title, body, body_hash, content_hash, 1, first_seen, "
        "last_seen, capture_id, published_at, authors, section, summary FROM articles, n")
    conn.commit()
    conn.close()
    child = start_child(["reextract", "--db", str(archive_db)])
    wait_for(lambda: count(archive_db, "SELECT count(*) FROM articles WHERE body != "
                                       "'damaged'") >= 1)
    child.send_signal(signal.SIGTERM)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert "interrupted" in err and "Traceback" not in err
    assert_sound(archive_db)


# --- W10-W12: only the archive's real file, and only one writer on it --------------------------
def test_W10_a_backup_onto_the_archive_itself_is_a_usage_error(archive_db, ipnews, tmp_path):
    link = tmp_path / "alias.db"
    link.symlink_to(archive_db)
    hard = tmp_path / "hard.db"
    os.link(archive_db, hard)
    before = archive_db.read_bytes()
    for dest in (archive_db, hard):
        result = ipnews("backup", str(dest), "--force", "--db", str(archive_db))
        assert result.code == 2 and "the archive itself" in result.err, result.err
    result = ipnews("backup", str(archive_db), "--force", "--db", str(link))
    assert result.code == 2
    assert archive_db.read_bytes() == before


@pytest.mark.parametrize("name", [":memory:", "file:x?mode=memory", "file::memory:", " "])
def test_W11_only_a_file_path_is_an_archive(mirror, ipnews, monkeypatch, name):
    monkeypatch.setenv("IPNEWS_DB", name)
    monkeypatch.chdir(mirror.root)
    for command in (("fetch", "ctplo", "--config", str(mirror.config)), ("search", "x")):
        result = ipnews(*command)
        assert result.code == 2 and "not a file path" in result.err, (name, result.err)


def test_W12_two_fetches_through_a_symlink_share_one_lock(mirror, tmp_path):
    link = tmp_path / "alias.db"
    link.symlink_to(mirror.db)
    mirror.ctplo.delay = 0.15
    first = start_child(["fetch", *db_args(mirror)])
    try:
        wait_for(lambda: len(mirror.ctplo.requests) >= 2)
        second = run_child(["fetch", "--db", str(link), "--config", str(mirror.config)])
        assert second.returncode == 75, second.stderr
    finally:
        first.communicate(timeout=120)
    assert first.returncode == 0


# --- W13-W14: signals and budgets bite at every request ------------------------------------------
def test_W13_sigterm_during_the_last_listing_request_interrupts_the_run(mirror):
    slow = {"blocked": True}

    def listing(handler) -> None:  # the listing answers, slowly, after the signal
        while slow["blocked"]:
            time.sleep(0.05)
        body = (mirror.root / "ctplo/site/blog/blog-list/index.html").read_bytes()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    mirror.ctplo.routes["/blog/blog-list"] = listing
    child = start_child(["fetch", "ctplo", "--max-pages", "1", *db_args(mirror)])
    try:
        wait_for(lambda: "/blog/blog-list" in mirror.ctplo.requests)
        child.send_signal(signal.SIGTERM)
        time.sleep(0.5)
    finally:
        slow["blocked"] = False
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert rows(mirror.db, "SELECT status FROM runs") == [("interrupted",)]


def test_W14_a_listing_of_a_thousand_identical_cards_costs_one_request(mirror, ipnews):
    listing = mirror.root / "shine/site/news/nation/index.html"
    html = listing.read_text("utf-8-sig")
    start = html.index('<div class="col-xs-12 story story-210063"')
    end = html.index('<div class="col-xs-12 story', start + 10)
    html = html[:start] + html[start:end] * 1_000 + html[end:]
    listing.write_text(html, "utf-8")
    assert ipnews("fetch", "shine", *db_args(mirror)).code == 0
    assert len(mirror.shine.requests) == len(set(mirror.shine.requests)) < 40


def test_W14_the_time_budget_is_checked_before_every_request(mirror, ipnews):
    mirror.write_config(time_budget=1)
    mirror.shine.delay = 0.4
    result = ipnews("fetch", "shine", *db_args(mirror))
    assert result.code == 0, result.err
    assert "stopped: time budget" in result.err
    assert len(mirror.shine.requests) <= 6  # robots + listing + a few articles, not 20
    mirror.write_config()
    mirror.shine.delay = 0
    assert ipnews("fetch", "shine", *db_args(mirror)).code == 0
    assert count(mirror.db) == 17  # what the budget left unread is found by the next run


# --- minor rows: each a one-line error with the right exit code ---------------------------------
@pytest.mark.parametrize(("config", "args", "message"), [
    ("[fetch]\ndelay = 1e11\n", (), "fetch.delay must be at most"),
    ("", ("--delay", "nan"), "is not a number of seconds"),
    ("a = " + "[" * 5_000 + "]" * 5_000 + "\n", (), "nested too deeply"),
])
def test_Wminor_config_values_that_crashed_are_usage_errors(tmp_path, ipnews, config, args,
                                                            message):
    path = tmp_path / "config.toml"
    path.write_text(config, "utf-8")
    result = ipnews("fetch", *args, "--config", str(path), "--db", str(tmp_path / "a.db"))
    assert result.code == 2 and message in result.err, result.err


def test_Wminor_a_deeply_nested_config_does_not_break_search(archive_db, tmp_path, ipnews):
    path = tmp_path / "config.toml"
    path.write_text("a = " + "[" * 5_000 + "]" * 5_000 + "\n", "utf-8")
    result = ipnews("search", "customs", "--config", str(path), "--db", str(archive_db))
    assert result.code == 2 and "nested too deeply" in result.err


@pytest.mark.parametrize("name", ["a\x00b.db", "\udcff.db", "x" * 300 + ".db"])
def test_Wminor_unusable_database_names_are_usage_errors(tmp_path, ipnews, name):
    for command in (("search", "customs"), ("fetch", "ctplo")):
        result = ipnews(*command, "--db", str(tmp_path / name))
        assert result.code == 2 and "database path" in result.err, (command, result.err)


def test_Wminor_a_nul_in_the_configured_database_path_is_a_usage_error(tmp_path, ipnews):
    config = tmp_path / "config.toml"
    config.write_text('[archive]\ndb = "a\\u0000b.db"\n', "utf-8")
    for command in (("search", "customs"), ("fetch", "ctplo")):
        result = ipnews(*command, "--config", str(config))
        assert result.code == 2 and "NUL" in result.err, (command, result.err)


def test_Wminor_dates_before_year_one_and_undecodable_keys(archive_db, ipnews):
    base = ("--db", str(archive_db))
    result = ipnews("search", "customs", "--since", "0001-01-01T00:00+08:00", *base)
    assert result.code == 2 and "--since" in result.err
    result = ipnews("show", "\udcff", *base)
    assert result.code == 2 and "no article" in result.err


def test_Wminor_reextract_on_a_foreign_file_is_refused(tmp_path, ipnews):
    db = tmp_path / "foreign.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE articles (id)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    for command in ("reextract", "fetch", "search"):
        result = ipnews(command, *(["customs"] if command == "search" else []),
                        "--db", str(db))
        assert result.code == 4 and "not an ipnews database" in result.err, result.err
    assert db.read_bytes() == before


def test_Wminor_closed_stdout_and_stderr(archive_db, mirror):
    exe = f'"{sys.executable}" -m ipnews'
    done = subprocess.run(["bash", "-c", f'{exe} search customs --db "{archive_db}" >&-'],
                          capture_output=True, text=True, env=child_env(), timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    done = subprocess.run(["bash", "-c", f'{exe} fetch ctplo --db "{mirror.db}" --config '
                                         f'"{mirror.config}" 2>&-'],
                          capture_output=True, text=True, env=child_env(), timeout=60)
    assert done.returncode == 0
    assert count(mirror.db) == 9


def test_Wminor_a_full_disk_on_stdout_is_reported_as_such(archive_db):
    done = subprocess.run(["bash", "-c", f'"{sys.executable}" -m ipnews export --jsonl --db '
                                         f'"{archive_db}" > /dev/full'],
                          capture_output=True, text=True, env=child_env(), timeout=60)
    assert done.returncode == 4, done.stderr
    assert done.stderr.strip() == "ipnews: cannot write the output: No space left on device"


def test_Wminor_a_corrupt_file_is_refused_with_the_problem_named(archive_db, ipnews):
    conn = sqlite3.connect(archive_db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'captures'"
                        ).fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(archive_db.read_bytes())
    at = (root - 1) * page_size
    data[at:at + 1] = b"\x07"  # not a b-tree page type
    archive_db.write_bytes(bytes(data))
    archive_db.with_name(archive_db.name + ".verified").unlink(missing_ok=True)
    result = ipnews("fetch", "ctplo", "--db", str(archive_db))
    assert result.code == 4 and "database appears corrupt" in result.err
    assert "(*** in database main ***)" not in result.err
    assert "page" in result.err.lower()


def test_Wminor_a_failed_backup_leaves_nothing_behind(archive_db, tmp_path, ipnews):
    import resource

    dest_dir = tmp_path / "dest"
    dest_dir.mkdir()
    code = (f"import resource, signal, sys\n"
            f"signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))\n"
            f"from ipnews.cli import main\n"
            f"main(['backup', {str(dest_dir / 'b.db')!r}, '--db', {str(archive_db)!r}])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=child_env(), timeout=60)
    assert resource  # the limit is set in the child only
    assert done.returncode == 4, done.stderr
    assert "cannot write backup" in done.stderr
    assert list(dest_dir.iterdir()) == []


def test_Wminor_a_run_is_not_left_running_after_the_file_was_busy(mirror, ipnews,
                                                                 monkeypatch):
    import threading

    import ipnews.store as store

    assert ipnews("fetch", "ctplo", "--max-pages", "1", *db_args(mirror)).code == 0
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 300)
    holder = sqlite3.connect(mirror.db, isolation_level=None, check_same_thread=False)
    real_save = store.Archive.save

    def save_while_busy(self, *args, **kwargs):
        # Another program takes the write lock and keeps it past the failed save and past
        # the first attempt to record the end of the run (0.3 s each), then lets go.
        holder.execute("BEGIN IMMEDIATE")
        threading.Timer(0.8, holder.execute, ("ROLLBACK",)).start()
        return real_save(self, *args, **kwargs)
    monkeypatch.setattr(store.Archive, "save", save_while_busy)
    result = ipnews("fetch", "ctplo", "--full", *db_args(mirror))
    time.sleep(0.9)
    holder.close()
    assert result.code == 4 and "busy" in result.err
    assert rows(mirror.db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == [("crashed",)]


# --- what a new user found ----------------------------------------------------------------------
def test_Wuser_a_total_outage_has_its_own_exit_code(mirror, ipnews):
    mirror.ctplo.status = mirror.shine.status = 404
    result = ipnews("fetch", *db_args(mirror))
    assert result.code == 5, result.err
    assert "every source failed" in result.err
    assert "0 failed" not in result.err and "ctplo: FAILED" in result.err
    table = ipnews("runs", "--db", str(mirror.db)).out
    assert "listing http://www.ctplo.com/blog/blog-list" in table and "started UTC" in table
    assert "last run UTC" in ipnews("sources", "--db", str(mirror.db)).out


def test_Wuser_one_dead_source_is_still_partial(mirror, ipnews):
    mirror.ctplo.status = 404
    assert ipnews("fetch", *db_args(mirror)).code == 3


def test_Wuser_errors_name_the_mirror_that_was_asked(mirror, ipnews):
    (mirror.root / "shine/site/news/nation/2411058105/index.html").unlink()
    result = ipnews("fetch", "shine", *db_args(mirror))
    assert result.code == 3
    assert f"(asked at {mirror.shine.url}/news/nation/2411058105/)" in result.err


def test_Wuser_extract_fetches_a_url_the_user_typed_from_a_private_address(mirror, ipnews):
    url = f"{mirror.ctplo.url}/blog/how-to-register-a-trademark-in-china-step-by-step"
    result = ipnews("extract", url)
    assert result.code == 0, result.err
    assert "trademark" in json.loads(result.out)["body"].lower()


# --- bounded fuzzing of the query path ----------------------------------------------------------
_QUERY_ALPHABET = st.sampled_from([*'customs seizure 商标海关知识产权 "*()-:^+,.\'', "AND", "OR",
                                   "NOT", "NEAR", "\x00", "\u202e", "\udcff"])


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(_QUERY_ALPHABET, max_size=120).map(" ".join), raw=st.booleans(),
       repeat=st.sampled_from([1, 1, 1, 50, 400]))
def test_W5_any_query_is_answered_or_refused_in_bounded_time(archive_db, words, raw, repeat):
    from ipnews.errors import UsageError
    from ipnews.store import open_reader, search

    conn = open_reader(archive_db)
    started = time.monotonic()
    try:
        try:
            results = search(conn, (words + " ") * repeat, raw=raw)
        except UsageError as exc:
            assert "\n" not in str(exc)
        else:
            assert isinstance(results, list)
    finally:
        conn.close()
    assert time.monotonic() - started < 5  # a hang guard: the bounds make it milliseconds
