"""The process around the archive: one writer at a time, signals, crashes at any step."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import child_env, run_child
from ipnews.store import integrity_problems, open_reader


def start_child(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ipnews", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env())


def count(db: Path, sql: str = "SELECT count(*) FROM articles") -> int:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def wait_for(predicate, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except sqlite3.OperationalError:
            pass  # the schema is not committed yet
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def assert_sound(db: Path) -> None:
    conn = open_reader(db, for_check=True)
    try:
        assert integrity_problems(conn, db) == []
        torn = conn.execute("SELECT count(*) FROM articles a WHERE a.version - 1 != (SELECT "
                            "count(*) FROM versions v WHERE v.article_id = a.id)").fetchone()[0]
        assert torn == 0, "an edited article without its earlier version: half an update"
    finally:
        conn.close()


def snapshot(db: Path) -> set[tuple]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute("SELECT url, content_hash, version, published_at FROM articles"))
    finally:
        conn.close()


def test_F1_second_fetch_exits_with_the_lock_code_and_the_file_stays_intact(mirror):
    mirror.ctplo.delay = mirror.shine.delay = 0.15
    args = ["fetch", "--db", str(mirror.db), "--config", str(mirror.config)]
    first = start_child(args)
    try:
        wait_for(lambda: len(mirror.ctplo.requests) >= 2)
        started = time.monotonic()
        second = run_child(args, timeout=30)
        assert time.monotonic() - started < 5
        assert second.returncode == 75, second.stderr
        assert "another ipnews fetch is running" in second.stderr
        assert "Traceback" not in second.stderr and second.stdout == ""
        # Searching while the fetch writes works.
        found = run_child(["search", "trademark", "--json", "--db", str(mirror.db)])
        assert found.returncode in (0, 4), found.stderr
    finally:
        _out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert_sound(mirror.db)
    assert count(mirror.db) == 26


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_F5_a_signal_stops_between_articles_and_releases_the_lock(mirror, sig, code):
    mirror.ctplo.delay = 0.3
    args = ["fetch", "ctplo", "--db", str(mirror.db), "--config", str(mirror.config)]
    child = start_child(args)
    wait_for(lambda: mirror.db.exists() and count(mirror.db) >= 2)
    child.send_signal(sig)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == code, err
    assert "interrupted:" in err and "Traceback" not in err
    saved = count(mirror.db)
    assert 2 <= saved < 9
    assert_sound(mirror.db)
    assert count(mirror.db, "SELECT count(*) FROM runs WHERE status = 'interrupted'") == 1
    mirror.ctplo.delay = 0
    again = run_child(args)  # the lock is free and the archive completes
    assert again.returncode == 0, again.stderr
    assert count(mirror.db) == 9


@pytest.mark.slow
def test_F4_crash_at_every_write_step_then_rerun_completes_exactly(mirror, tmp_path):
    args = ["fetch", "ctplo", "--max-pages", "1", "--config", str(mirror.config)]
    reference = tmp_path / "reference.db"
    assert run_child([*args, "--db", str(reference)]).returncode == 0
    expected = snapshot(reference)
    assert len(expected) == 6
    k = 1
    while True:
        db = tmp_path / f"crash-{k}.db"
        crashed = run_child([*args, "--db", str(db)], IPNEWS_TEST_CRASH_AFTER=str(k))
        if crashed.returncode == 0:
            break  # k is past the last write step: every step has been tried
        assert crashed.returncode == 137, crashed.stderr
        if db.exists():
            assert_sound(db)
            assert snapshot(db) <= expected  # whole articles only
        rerun = run_child([*args, "--db", str(db)])
        assert rerun.returncode == 0, rerun.stderr
        assert snapshot(db) == expected
        assert_sound(db)
        k += 1
    assert k > 20, "the sweep should have crossed every article's steps"


def test_F2_a_killed_fetch_leaves_no_stale_lock(mirror):
    mirror.ctplo.delay = 0.3
    args = ["fetch", "ctplo", "--db", str(mirror.db), "--config", str(mirror.config)]
    child = start_child(args)
    wait_for(lambda: len(mirror.ctplo.requests) >= 2)
    child.kill()
    child.communicate(timeout=30)
    mirror.ctplo.delay = 0
    again = run_child(args)
    assert again.returncode == 0, again.stderr
    assert count(mirror.db) == 9
    assert count(mirror.db, "SELECT count(*) FROM runs WHERE status = 'crashed'") == 1


def test_F3_backup_during_a_fetch_is_consistent(mirror, tmp_path):
    mirror.ctplo.delay = 0.2
    args = ["fetch", "ctplo", "--db", str(mirror.db), "--config", str(mirror.config)]
    child = start_child(args)
    try:
        wait_for(lambda: mirror.db.exists() and count(mirror.db) >= 1)
        dest = tmp_path / "copy.db"
        done = run_child(["backup", str(dest), "--db", str(mirror.db)])
        assert done.returncode == 0, done.stderr
        assert_sound(dest)
    finally:
        child.communicate(timeout=120)
    assert child.returncode == 0


def test_F6_disk_full_stops_the_run_with_exit_4_and_earlier_articles_intact(mirror):
    import resource

    args = ["fetch", "ctplo", "--db", str(mirror.db), "--config", str(mirror.config)]
    assert run_child([*args, "--max-pages", "1"]).returncode == 0  # 6 articles stored
    size = mirror.db.stat().st_size

    def limit() -> None:  # in the child: the file may grow only a little
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 8192, size + 8192))
    mirror.write_config(keep_raw=True)
    done = subprocess.run([sys.executable, "-m", "ipnews", *args, "--full"],
                          capture_output=True, text=True, env=child_env(), timeout=120,
                          preexec_fn=limit)
    assert done.returncode == 4, done.stderr
    assert "disk full" in done.stderr and "Traceback" not in done.stderr
    assert "articles saved in this run before it" in done.stderr
    assert count(mirror.db) >= 6
    assert_sound(mirror.db)


def test_F10_journal_mode_is_rollback_not_wal(archive_db):
    """SQLite 3.7.0-3.51.2 has a WAL-reset corruption bug with two connections; the
    rollback journal avoids it, and readers wait on busy_timeout instead."""
    conn = sqlite3.connect(archive_db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_verbose_lists_the_skipped_stories(mirror, ipnews):
    result = ipnews("fetch", "shine", "-v", "--db", str(mirror.db),
                    "--config", str(mirror.config))
    assert result.code == 0
    assert "skipped (not about IP):" in result.err and "2411149907" in result.err
