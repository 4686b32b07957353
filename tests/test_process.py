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
        orphans = conn.execute("SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 "
                               "FROM versions v WHERE v.article_id = a.id AND v.version = "
                               "a.version)").fetchone()[0]
        assert orphans == 0, "an article without its version: half an article"
    finally:
        conn.close()


def snapshot(db: Path) -> set[tuple]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute("SELECT url, content_hash, version, published_at FROM articles"))
    finally:
        conn.close()


def test_second_fetch_exits_with_the_lock_code_and_the_file_stays_intact(mirror):
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
def test_a_signal_stops_between_articles_and_releases_the_lock(mirror, sig, code):
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
def test_crash_at_every_write_step_then_rerun_completes_exactly(mirror, tmp_path):
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
