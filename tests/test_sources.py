"""The ten built-in sources end to end: each served from its own mirror on its own
loopback address, all read at once, then read again with nothing new; the fetch-level
parts of the new sources (a story over two pages, government firewalls, a provincial
office of CNIPA's CMS declared in the config file)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import FIXTURES, others_off, rows
from ipnews.sources import get_source_class, source_names
from server import SiteServer
from test_process import assert_sound

# What each site's server says of its pages' encoding: People's Daily gives no charset
# (its pages declare GB2312 and may be UTF-8), SHINE none either (a BOM says UTF-8).
CONTENT_TYPES = {"people-ip": "text/html", "shine": "text/html",
                 "cnipa": "text/html; charset=UTF-8", "cnipa-en": "text/html; charset=UTF-8"}


def goldens(name: str) -> list[dict]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(
        (FIXTURES / name / "expected").glob("*.json"))]


def serve_ten(root: Path) -> dict[str, SiteServer]:
    """Each built-in source's fixture site under root on its own address, 127.0.0.2 to
    127.0.0.11 (the test is skipped where they cannot be bound)."""
    servers: dict[str, SiteServer] = {}
    try:
        for i, name in enumerate(source_names()):
            servers[name] = SiteServer(root / name / "site", host=f"127.0.0.{i + 2}",
                                       content_type=CONTENT_TYPES.get(
                                           name, "text/html; charset=utf-8"))
    except OSError:
        for server in servers.values():
            server.close()
        pytest.skip("this machine cannot bind 127.0.0.2-11")
    return servers


def ten_config(servers: dict[str, SiteServer], path: Path, fetch: str = "") -> Path:
    """A config reading each source from its server; fetch: more [fetch] lines."""
    # The CNIPA mirror holds two of the five columns read by default.
    extra = {"cnipa": 'columns = ["53", "74"]\n'}
    path.write_text("[fetch]\ndelay = 0\nhosts_at_once = 10\n" + fetch + "".join(
        f'\n[sources.{n}]\nbase_url = "{s.url}"\n{extra.get(n, "")}'
        for n, s in servers.items()), "utf-8")
    return path


@pytest.fixture
def ten_sites(tmp_path: Path) -> Iterator[tuple[dict[str, SiteServer], Path, Path]]:
    """Each built-in source on its own address, 127.0.0.2 to 127.0.0.11."""
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, root)
    servers = serve_ten(root)
    yield servers, ten_config(servers, tmp_path / "config.toml"), tmp_path / "ten.db"
    for server in servers.values():
        server.close()


def _article_paths(name: str, server: SiteServer) -> list[str]:
    source = get_source_class(name)()
    return [p for p in server.pages()
            if source.is_article_url(source.home + urlsplit(p).path)]


def test_all_ten_sources_from_mirrors_at_once_then_nothing_new(ten_sites, ipnews):
    servers, config, db = ten_sites
    first = ipnews("fetch", "--db", str(db), "--config", str(config))
    # The only failures are the two stories the Xinhua and Global Times mirrors leave out
    # on purpose (their READMEs say so): a 404 is recorded, and the run is partial.
    assert first.code == 3, first.err
    failed = rows(db, "SELECT source, outcome FROM fetch_log WHERE outcome = 'not_found'")
    assert sorted(failed) == [("globaltimes", "not_found"), ("xinhua", "not_found")]
    runs = {r[0]: r[1:] for r in rows(
        db, "SELECT source, new, skipped, failed, duplicate FROM runs")}
    assert set(runs) == set(source_names())
    for name in source_names():
        if name in ("shine", "ctplo"):
            continue
        stories = goldens(name)
        relevant = [g for g in stories if g.get("relevant", True)]
        new, skipped, _failed, _duplicate = runs[name]
        assert (new, skipped) == (len(relevant), len(stories) - len(relevant)), name
        # What a fetch stored is what the hand-written goldens say the pages hold.
        for golden in relevant:
            stored = rows(db, "SELECT title, published_at, body, language, attachments "
                              "FROM articles WHERE url = ?", golden["url"])
            want = golden["expected"]
            (title, published, body, language, files), = stored
            assert (title, body, language, json.loads(files)) == (
                want["title"], want["body"], want["language"], want["attachments"]), golden["url"]
            # A page that gives only the day gets the time its listing card gives.
            assert published == want["published_at"] or (
                len(want["published_at"]) == 10 and published.startswith(want["published_at"]))
    assert runs["shine"][:2] == (17, 1) and runs["ctplo"][0] == 9
    # All at once: every site's first request came before any site's last one.
    assert max(min(s.times) for s in servers.values()) < min(max(s.times)
                                                            for s in servers.values())
    before = {n: len(_article_paths(n, s)) for n, s in servers.items()}
    second = ipnews("fetch", "--db", str(db), "--config", str(config))
    assert second.code == 0, second.err
    assert rows(db, "SELECT sum(new), sum(updated) FROM runs WHERE id > 10") == [(0, 0)]
    for name, server in servers.items():  # listing pages only: no article page again
        assert len(_article_paths(name, server)) == before[name], name
    assert_sound(db)


@pytest.fixture
def one_site(tmp_path: Path):
    """One source's mirror, the others off."""
    servers: list[SiteServer] = []

    def start(name: str, extra: str = "", **server: object) -> tuple[SiteServer, Path, Path]:
        root = tmp_path / "fixtures"
        if not root.exists():
            shutil.copytree(FIXTURES, root)
        site = SiteServer(root / name / "site", **server)  # type: ignore[arg-type]
        servers.append(site)
        config = tmp_path / "config.toml"
        config.write_text(f'[fetch]\ndelay = 0\nbackoff = 0.05\n\n[sources.{name}]\n'
                          f'base_url = "{site.url}"\n{extra}' + others_off(name), "utf-8")
        return site, config, tmp_path / "one.db"

    yield start
    for site in servers:
        site.close()


def test_a_story_over_two_pages_is_stored_whole_and_reextracts_the_same(one_site, ipnews):
    _site, config, db = one_site("chinadaily", content_type="text/html; charset=utf-8")
    assert ipnews("fetch", "--db", str(db), "--config", str(config)).code == 0
    golden = next(g for g in goldens("chinadaily") if "pages" in g)
    (body,) = rows(db, "SELECT body FROM articles WHERE url = ?", golden["url"])[0]
    assert body == golden["expected"]["body"]
    page2 = golden["url"].replace(".html", "_2.html")
    assert rows(db, "SELECT count(*) FROM captures WHERE url = ?", page2) == [(1,)]
    assert rows(db, "SELECT count(*) FROM articles WHERE url = ?", page2) == [(0,)]
    # Re-extraction reads page 2 from its stored capture: the same text, no new version.
    result = ipnews("reextract", "--db", str(db), "--config", str(config))
    assert result.code == 0, result.err
    assert rows(db, "SELECT body, version FROM articles WHERE url = ?", golden["url"]) \
        == [(golden["expected"]["body"], 1)]


def test_a_story_whose_second_page_fails_is_not_stored_in_half(one_site, ipnews):
    site, config, db = one_site("chinadaily", content_type="text/html; charset=utf-8")
    golden = next(g for g in goldens("chinadaily") if "pages" in g)
    page2 = urlsplit(golden["url"].replace(".html", "_2.html")).path
    site.routes[page2] = lambda h: h._send(503, b"busy")
    assert ipnews("fetch", "--db", str(db), "--config", str(config)).code == 3
    assert rows(db, "SELECT count(*) FROM articles WHERE url = ?", golden["url"]) == [(0,)]
    del site.routes[page2]  # the next run finds the story again, whole
    assert ipnews("fetch", "--db", str(db), "--config", str(config)).code == 0
    assert rows(db, "SELECT body FROM articles WHERE url = ?", golden["url"]) == [
        (golden["expected"]["body"],)]


def test_government_firewalls_refusing_pages_are_recorded_failures(one_site, ipnews):
    """412 and 521 are what such firewalls answer some clients: each refused page is a
    failure with its reason, the other pages are stored, and the next run tries again."""
    site, config, db = one_site("cnipa", 'columns = ["53", "74"]\n',
                                content_type="text/html; charset=UTF-8")
    refused = {"/art/2026/11/17/art_53_201198.html": 412,
               "/art/2026/11/16/art_74_201170.html": 521}
    for path, status in refused.items():
        site.routes[path] = lambda h, s=status: h._send(s, b"<html>blocked</html>")
    result = ipnews("fetch", "--db", str(db), "--config", str(config))
    assert result.code == 3, result.err
    assert "Traceback" not in result.err
    assert "firewall" in result.err and "anti-bot" in result.err
    assert rows(db, "SELECT count(*) FROM articles") == [(len(goldens("cnipa")) - 2,)]
    statuses = dict(rows(db, "SELECT url, status FROM url_status"))
    assert sorted(statuses.values()) == ["http_412", "http_521"]
    for path in refused:
        del site.routes[path]
    assert ipnews("fetch", "--db", str(db), "--config", str(config)).code == 0
    assert rows(db, "SELECT count(*) FROM articles") == [(len(goldens("cnipa")),)]


def test_a_provincial_office_on_the_same_cms_is_declared_in_the_config(one_site, ipnews,
                                                                       tmp_path):
    """The README's example: a provincial IP office of CNIPA's CMS, from the config file
    alone (here served by the CNIPA mirror under the office's own name)."""
    site, config, db = one_site("cnipa", content_type="text/html; charset=UTF-8")
    config.write_text(f"""[fetch]
delay = 0

[sources.zjipo]
cms = "jcms"
title = "浙江省知识产权局"
home = "https://zjipo.example.gov.cn"
columns = ["53", "74"]
language = "zh"
base_url = "{site.url}"
""" + others_off(), "utf-8")
    listed = ipnews("sources", "--json", "--db", str(db), "--config", str(config))
    assert "zjipo" in [s["name"] for s in json.loads(listed.out)]
    result = ipnews("fetch", "zjipo", "--db", str(db), "--config", str(config))
    assert result.code == 0, result.err
    stored = rows(db, "SELECT url, attachments FROM articles ORDER BY url")
    assert len(stored) == len(goldens("cnipa"))
    assert all(u.startswith("https://zjipo.example.gov.cn/art/2026/") for u, _ in stored)
    assert sum(len(json.loads(a)) for _, a in stored) == sum(
        len(g["expected"]["attachments"]) for g in goldens("cnipa"))


def test_an_announcements_files_are_shown_as_links_not_text(one_site, ipnews):
    _site, config, db = one_site("cnipa", 'columns = ["74"]\n',
                                 content_type="text/html; charset=UTF-8")
    assert ipnews("fetch", "--db", str(db), "--config", str(config)).code == 0
    url = "https://www.cnipa.gov.cn/art/2026/11/18/art_74_201210.html"
    shown = ipnews("show", url, "--db", str(db))
    assert shown.code == 0, shown.err
    assert "附件1：专利收费减缴备案表.pdf <https://www.cnipa.gov.cn/module/download/" in shown.out
    record = json.loads(ipnews("show", url, "--json", "--db", str(db)).out)[0]
    assert [a["title"] for a in record["attachments"]] == [
        "附件1：专利收费减缴备案表.pdf", "附件2：专利收费减缴备案常见问题解答.pdf",
        "附件3：专利收费减缴备案承诺书.docx"]
    assert ".pdf" not in record["body"] and "附件1" not in record["body"]
