"""Every host at once: sources on different hosts are fetched at the same time, one
request in flight per host, with every guarantee of a single-source run."""

from __future__ import annotations

import shutil

import pytest

from conftest import FIXTURES, others_off, rows
from server import SiteServer
from test_process import assert_sound


def _spans(server: SiteServer) -> tuple[float, float]:
    return min(server.times), max(server.times)


@pytest.fixture
def two_hosts(tmp_path):
    """CTPLO on 127.0.0.2 and SHINE on 127.0.0.3: two hosts, as a user's sites would be."""
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, root)
    try:
        ctplo = SiteServer(root / "ctplo/site", content_type="text/html; charset=utf-8",
                           host="127.0.0.2")
        shine = SiteServer(root / "shine/site", host="127.0.0.3")
    except OSError:
        pytest.skip("this machine cannot bind 127.0.0.2 and 127.0.0.3")
    config = tmp_path / "config.toml"
    config.write_text(f"""[fetch]
delay = 0.05

[sources.ctplo]
base_url = "{ctplo.url}"

[sources.shine]
base_url = "{shine.url}"
""" + others_off("ctplo", "shine"), "utf-8")
    yield ctplo, shine, config, tmp_path / "a.db"
    ctplo.close()
    shine.close()


def test_two_hosts_are_read_at_the_same_time_one_request_at_a_time_each(two_hosts, ipnews):
    ctplo, shine, config, db = two_hosts
    result = ipnews("fetch", "--db", str(db), "--config", str(config))
    assert result.code == 0, result.err
    assert rows(db, "SELECT count(*) FROM articles") == [(9 + 17,)]
    (c0, c1), (s0, s1) = _spans(ctplo), _spans(shine)
    assert s0 < c1 and c0 < s1, "the two hosts were read one after the other"
    for server in (ctplo, shine):  # the politeness delay still holds per host
        gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
        assert min(gaps) >= 0.04
    assert_sound(db)


def test_a_signal_stops_every_host(two_hosts):
    import signal

    from test_process import count, start_child, wait_for

    ctplo, shine, config, db = two_hosts
    ctplo.delay = shine.delay = 0.2
    child = start_child(["fetch", "--db", str(db), "--config", str(config)])
    wait_for(lambda: db.exists() and count(db) >= 2)
    child.send_signal(signal.SIGTERM)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert "Traceback" not in err
    statuses = {s for (s,) in rows(db, "SELECT status FROM runs")}
    assert statuses == {"interrupted"}
    assert_sound(db)


def test_hosts_at_once_caps_how_many_hosts_are_read_together(two_hosts, ipnews):
    ctplo, shine, config, db = two_hosts
    text = config.read_text("utf-8").replace("[fetch]\n", "[fetch]\nhosts_at_once = 1\n")
    config.write_text(text, "utf-8")
    assert ipnews("fetch", "--db", str(db), "--config", str(config)).code == 0
    (c0, c1), (s0, s1) = _spans(ctplo), _spans(shine)
    assert c1 < s0 or s1 < c0, "with one slot, one host is read after the other"
