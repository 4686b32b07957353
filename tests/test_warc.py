"""WARC out and in, replay without the network, verify, evidence and merge, on real archives
fetched from the ten fixture sites (English and Chinese, UTF-8 and GBK, a story over two
pages), real WARC files and real SQLite files."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from conftest import FIXTURES, others_off, rows
from ipnews.sources import source_names
from ipnews.warc import payload_digest
from server import SiteServer
from test_sources import serve_ten, ten_config

# What makes two archives hold the same articles: everything but the moments of storing.
SAME = ("url", "source", "title", "summary", "body", "published_at", "authors", "section",
        "language", "extraction", "flags", "attachments", "topics", "version", "content_hash")


def articles(db: Path) -> list[tuple]:
    return rows(db, f"SELECT {', '.join(SAME)} FROM articles ORDER BY url")


def history(db: Path) -> list[tuple]:
    """Every text of every story, in version order."""
    return rows(db, "SELECT a.url, v.version, v.content_hash FROM versions v JOIN articles a "
                    "ON a.id = v.article_id UNION ALL SELECT url, version, content_hash FROM "
                    "articles ORDER BY 1, 2")


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The ten sources fetched once from their mirrors (on 127.0.0.2-11); the servers are
    closed before any test runs, so a replay that touched the network would fail."""
    from ipnews.cli import main

    base = tmp_path_factory.mktemp("warc")
    servers = serve_ten(FIXTURES)
    config = ten_config(servers, base / "config.toml", "timeout = 2\ndeadline = 5\n")
    db = base / "fetched.db"
    try:
        main(["fetch", "-q", "--db", str(db), "--config", str(config)])
    except SystemExit as exc:
        assert exc.code == 3  # the two stories the Xinhua and Global Times mirrors lack
    finally:
        for server in servers.values():
            server.close()
    yield db, config


@pytest.fixture
def archive(fetched: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "archive.db"
    shutil.copy(fetched[0], db)
    return db, fetched[1]


@pytest.fixture
def all_warc(archive, ipnews, tmp_path) -> tuple[Path, Path, Path]:
    """The archive, its config and the whole archive exported as a WARC file."""
    db, config = archive
    warc = tmp_path / "all.warc.gz"
    assert ipnews("export", "--warc", str(warc), "--db", str(db), "--config",
                  str(config)).code == 0
    return db, config, warc


def records(path: Path) -> list:
    with path.open("rb") as fh:
        return [(r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
                for r in ArchiveIterator(fh)]


# --- WARC out -------------------------------------------------------------------------
def test_export_writes_a_valid_warc_with_sha256_digests_and_metadata(archive, ipnews, tmp_path):
    db, config = archive
    warc = tmp_path / "out.warc.gz"
    result = ipnews("export", "--warc", str(warc), "--db", str(db), "--config", str(config))
    assert result.code == 0, result.err
    assert result.out == ""
    warcio = Path(sys.executable).parent / "warcio"  # the CLI beside this Python
    check = subprocess.run([str(warcio), "check", "-v", str(warc)], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") > 100
    assert "fail" not in check.stdout
    got = records(warc)
    assert got[0][0] == "warcinfo"
    assert b"ipnews/" in got[0][3]
    by_type: dict[str, list] = {}
    for kind, *rest in got:
        by_type.setdefault(kind, []).append(rest)
    stored = rows(db, "SELECT final_url, sha256 FROM captures")
    assert len(by_type["response"]) == len(stored)
    assert len(by_type["request"]) == len(by_type["metadata"]) == len(stored)
    digests = {r[0].get_header("WARC-Payload-Digest") for r in by_type["response"]}
    assert digests == {payload_digest(sha) for _url, sha in stored}
    for rec_headers, http, body in by_type["response"]:
        assert hashlib.sha256(body).hexdigest() in {sha for _u, sha in stored}
        assert http.get_header("Content-Length") == str(len(body))
        assert http.get_header("Content-Encoding") is None  # the body kept is decoded
        assert rec_headers.get_header("WARC-Block-Digest").startswith("sha256:")
    # The People's Daily pages are GBK: their bytes go out as received.
    gbk = [b for _h, _http, b in by_type["response"] if b"charset=gb" in b[:3000].lower()]
    assert gbk and "知识产权".encode("gbk") in b"".join(gbk)
    metadata = [dict(line.split(": ", 1) for line in body.decode().splitlines() if ": " in line)
                for _h, _http, body in by_type["metadata"]]
    ids = {int(m["ipnews-article-id"]) for m in metadata if "ipnews-article-id" in m}
    assert ids == {i for (i,) in rows(db, "SELECT id FROM articles")}
    assert {m.get("ipnews-document") for m in metadata} >= {"listing"}
    requests = [http for _h, http, _b in by_type["request"]]
    assert all(http.get_header("User-Agent", "").startswith("ipnews/") for http in requests)


def test_export_refuses_an_existing_file_and_writes_nothing_half(archive, ipnews, tmp_path):
    db, config = archive
    taken = tmp_path / "taken.warc.gz"
    taken.write_bytes(b"keep me")
    result = ipnews("export", "--warc", str(taken), "--db", str(db), "--config", str(config))
    assert result.code == 2 and "exists" in result.err
    assert taken.read_bytes() == b"keep me"
    link = tmp_path / "link.warc.gz"
    link.symlink_to(tmp_path / "elsewhere")
    result = ipnews("export", "--warc", str(link), "--db", str(db), "--config", str(config))
    assert result.code == 2
    assert not (tmp_path / "elsewhere").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_export_with_a_filter_holds_only_those_articles(archive, ipnews, tmp_path):
    db, config = archive
    warc = tmp_path / "ctplo.warc.gz"
    assert ipnews("export", "--warc", str(warc), "--source", "ctplo", "--db", str(db),
                  "--config", str(config)).code == 0
    urls = {h.get_header("WARC-Target-URI") for kind, h, _http, _b in records(warc)
            if kind == "response"}
    expected = {u for (u,) in rows(db, "SELECT c.final_url FROM articles a JOIN captures c "
                                       "ON c.id = a.capture_id WHERE a.source = 'ctplo'")}
    assert urls == expected and len(urls) == 9


# --- WARC in ----------------------------------------------------------------------------
def test_round_trip_export_then_import_gives_identical_articles(all_warc, ipnews, tmp_path):
    db, config, warc = all_warc
    fresh = tmp_path / "fresh.db"
    result = ipnews("import", str(warc), "--db", str(fresh), "--config", str(config))
    assert result.code == 0, result.err
    assert articles(fresh) == articles(db)
    assert history(fresh) == history(db)
    assert len(articles(db)) > 60
    # The captures are the same bytes, keep their time, and name the record they came from.
    query = ("SELECT c.url, c.sha256, c.fetched_at FROM articles a JOIN captures c ON c.id = "
             "a.capture_id ORDER BY 1")
    assert rows(fresh, query) == rows(db, query)
    origins = [json.loads(o) for (o,) in rows(
        fresh, "SELECT origin FROM captures WHERE origin IS NOT NULL")]
    assert origins and all(o["warc"] == str(warc) and o["record"].startswith("<urn:uuid:")
                           for o in origins)
    # Each story's own address; other addresses a file names are not believed (see
    # test_a_warcs_metadata_cannot_mark_a_story_as_a_copy), so they do not come along.
    links = "SELECT url, kind FROM article_urls WHERE kind = 'canonical' ORDER BY url"
    assert rows(fresh, links) == rows(db, links)
    assert rows(fresh, "SELECT count(DISTINCT story_id) FROM articles") == rows(
        db, "SELECT count(DISTINCT story_id) FROM articles")
    # Chinese text and search survive the trip.
    found = ipnews("search", "知识产权", "--json", "--db", str(fresh))
    assert found.code == 0 and len(json.loads(found.out)) >= 5
    # Importing the same file again adds nothing.
    before = rows(fresh, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM "
                         "captures), (SELECT count(*) FROM versions)")
    again = ipnews("import", str(warc), "--db", str(fresh), "--config", str(config))
    assert again.code == 0, again.err
    assert " 0 new, 0 updated" in again.err
    assert rows(fresh, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM "
                       "captures), (SELECT count(*) FROM versions)") == before


def test_import_of_versions_in_any_order_gives_the_same_history(mirror, ipnews, tmp_path):
    """Two WARCs, before and after an edit: imported in either order, the story has the
    same two versions, in the order they were captured."""
    args = ("--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews("fetch", *args).code == 0
    first = tmp_path / "first.warc.gz"
    assert ipnews("export", "--warc", str(first), *args).code == 0
    page = mirror.root / "ctplo" / "site" / "blog" / \
        "beijing-ip-court-invalidates-squatted-coffee-trademark" / "index.html"
    text = page.read_text("utf-8")
    assert "Italian coffee roaster" in text
    page.write_text(text.replace("Italian coffee roaster", "Italian espresso roaster"), "utf-8")
    assert ipnews("fetch", "--refresh", *args).code == 0
    assert rows(mirror.db, "SELECT count(*) FROM versions") == [(1,)]
    second = tmp_path / "second.warc.gz"
    assert ipnews("export", "--warc", str(second), *args).code == 0
    forward, backward = tmp_path / "forward.db", tmp_path / "backward.db"
    for db, files in ((forward, (first, second)), (backward, (second, first))):
        for warc in files:
            result = ipnews("import", str(warc), "--db", str(db), "--config",
                            str(mirror.config))
            assert result.code == 0, result.err
    assert history(forward) == history(backward) == history(mirror.db)
    assert articles(forward) == articles(backward) == articles(mirror.db)


def _wget_warc(server: SiteServer, paths: list[str], out: Path) -> Path:
    """A WARC made by GNU wget against the fixture server."""
    urls = out.parent / "urls.txt"
    urls.write_text("".join(f"{server.url}{p}\n" for p in paths), "utf-8")
    done = subprocess.run(["wget", "-q", "--no-config", "-e", "robots=off", "-O", "/dev/null",
                           f"--warc-file={out}", "-i", str(urls)], capture_output=True,
                          timeout=60, cwd=out.parent)
    assert done.returncode in (0, 8), done.stderr  # 8: a 404 (robots.txt) was met
    return out.with_name(out.name + ".warc.gz")


def _written(server: SiteServer, paths: list[str], out: Path, browsertrix: bool) -> Path:
    """Without wget: a file written by warcio in wget's shape (WARC/1.0, sha1 digests,
    request then response, a trailing metadata and resource record), or in
    browsertrix-crawler's (WARC/1.1, the page's text as a urn:text: resource record after
    each response, and a revisit record when a page is fetched again unchanged)."""
    import httpx
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    target = out.with_name(out.name + ".warc.gz")
    agent = "Browsertrix-Crawler/1.3" if browsertrix else "Wget/1.21.3"
    with target.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1" if browsertrix else "1.0")
        writer.write_record(writer.create_warcinfo_record(target.name, {"software": agent}))
        for path in paths:
            response = httpx.get(server.url + path)
            url = server.url + path
            request = writer.create_warc_record(url, "request", http_headers=StatusAndHeaders(
                f"GET {path} HTTP/1.1", [("User-Agent", agent), ("Accept", "*/*"),
                                         ("Host", url.split("/")[2])], is_http_request=True))
            http = StatusAndHeaders(f"{response.status_code} OK", list(response.headers.items()),
                                    protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(
                response.content), length=len(response.content), http_headers=http)
            writer.write_record(request)
            writer.write_record(record)
            if browsertrix:
                text = response.content[:200]
                writer.write_record(writer.create_warc_record(
                    f"urn:text:{url}", "resource", payload=io.BytesIO(text), length=len(text),
                    warc_content_type="text/plain"))
                digest = record.rec_headers.get_header("WARC-Payload-Digest")
                writer.write_record(writer.create_revisit_record(
                    url, digest, url, record.rec_headers.get_header("WARC-Date"),
                    http_headers=http))
        if not browsertrix:
            writer.write_record(writer.create_warc_record(
                "metadata://gnu.org/software/wget/warc/MANIFEST.txt", "metadata",
                payload=io.BytesIO(b"wget.log\n"), length=9))
            writer.write_record(writer.create_warc_record(
                "metadata://gnu.org/software/wget/warc/wget.log", "resource",
                payload=io.BytesIO(b"done\n"), length=5, warc_content_type="text/plain"))
    return target


@pytest.mark.parametrize("maker", ["wget", "wget-shaped", "browsertrix-shaped"])
def test_a_wget_made_warc_imports_by_the_rules_of_a_fetch(maker, tmp_path, ipnews):
    """SHINE (UTF-8 with a BOM) and People's Daily (GBK) pages crawled by wget (or written
    in its shape, or in browsertrix-crawler's), listing pages and robots.txt included: the
    articles are those a fetch stores, the listing pages and the story not about IP are
    not."""
    if maker == "wget" and shutil.which("wget") is None:
        pytest.skip("wget is not installed; the wget-shaped case covers its file's shape")
    shine = SiteServer(FIXTURES / "shine" / "site", content_type="text/html")
    people = SiteServer(FIXTURES / "people-ip" / "site", content_type="text/html",
                        host="127.0.0.2")
    try:
        config = tmp_path / "config.toml"
        config.write_text(f'[sources.shine]\nbase_url = "{shine.url}"\n\n[sources.people-ip]\n'
                          f'base_url = "{people.url}"\n' + others_off("shine", "people-ip"),
                          "utf-8")
        fetched = tmp_path / "fetched.db"
        assert ipnews("fetch", "--db", str(fetched), "--config", str(config)).code == 0
        # The crawler asks for what the fetch asked for (listing pages too), and robots.txt.
        files = [_wget_warc(server, [*dict.fromkeys(server.pages()), "/robots.txt"],
                            tmp_path / f"crawl-{name}") if maker == "wget" else
                 _written(server, [*dict.fromkeys(server.pages()), "/robots.txt"],
                          tmp_path / f"crawl-{name}", maker == "browsertrix-shaped")
                 for name, server in (("shine", shine), ("people", people))]
    finally:
        shine.close()
        people.close()
    with gzip.open(files[1]) as fh:
        assert fh.read(8) in (b"WARC/1.0", b"WARC/1.1")
    db = tmp_path / "imported.db"
    result = ipnews("import", *map(str, files), "--db", str(db), "--config", str(config))
    assert result.code == 0, result.err
    assert "skipped (not about IP)" in result.err
    assert articles(db) == articles(fetched)
    assert len(articles(db)) > 20
    zh = rows(db, "SELECT title FROM articles WHERE source = 'people-ip'")
    assert zh and all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for (t,) in zh)
    # Every capture names its WARC record and keeps the time the crawler fetched it.
    assert rows(db, "SELECT count(*) FROM captures WHERE origin IS NULL") == [(0,)]


# --- broken files -----------------------------------------------------------------------
@pytest.fixture
def exported(archive, ipnews, tmp_path) -> tuple[Path, Path, bytes]:
    db, config = archive
    warc = tmp_path / "good.warc.gz"
    assert ipnews("export", "--warc", str(warc), "--source", "shine", "--db", str(db),
                  "--config", str(config)).code == 0
    return warc, config, warc.read_bytes()


def _response_offsets(data: bytes) -> list[int]:
    with io.BytesIO(data) as fh:
        it = ArchiveIterator(fh)
        return [it.get_record_offset() for r in it if r.rec_type == "response"]


def test_a_truncated_warc_is_reported_and_what_precedes_the_cut_is_kept(exported, ipnews,
                                                                        tmp_path):
    _warc, config, data = exported
    offsets = _response_offsets(data)
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[:offsets[5] + 300])  # inside the sixth response
    db = tmp_path / "cut.db"
    result = ipnews("import", str(cut), "--db", str(db), "--config", str(config))
    assert result.code == 3
    assert "truncated" in result.err and "Traceback" not in result.err
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == 5
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def test_a_corrupt_record_is_skipped_and_the_rest_imported(exported, ipnews, tmp_path):
    _warc, config, data = exported
    offsets = _response_offsets(data)
    broken = bytearray(data)
    for i in range(offsets[3] + 40, offsets[3] + 60):
        broken[i] ^= 0x5A  # inside the fourth response's deflate stream
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(bytes(broken))
    db = tmp_path / "bad.db"
    result = ipnews("import", str(bad), "--db", str(db), "--config", str(config))
    assert result.code == 3
    assert "1 unreadable record skipped" in result.err
    assert "not a readable WARC record" in result.err
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == len(offsets) - 1


def test_a_changed_payload_fails_its_digest_and_is_not_imported(exported, ipnews, tmp_path):
    _warc, config, data = exported
    plain = gzip.decompress(data)  # one file of many members reads as all of them
    at = plain.index(b"<title>")
    changed = plain[:at] + b"<title>X" + plain[at + 8:]
    bad = tmp_path / "changed.warc"  # an uncompressed WARC is read too
    bad.write_bytes(changed)
    db = tmp_path / "changed.db"
    result = ipnews("import", str(bad), "--db", str(db), "--config", str(config))
    assert result.code == 3
    assert "digest failed" in result.err
    total = len(_response_offsets(data))
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == total - 1


@pytest.mark.parametrize("content", [b"", b"not a warc at all\n" * 100,
                                     gzip.compress(b"<html>no</html>")])
def test_a_file_that_is_no_warc_is_one_clear_line(content, tmp_path, ipnews):
    path = tmp_path / "junk.warc.gz"
    path.write_bytes(content)
    db = tmp_path / "junk.db"
    result = ipnews("import", str(path), "--db", str(db))
    assert result.code in (0, 3), result.err
    assert "Traceback" not in result.err
    assert rows(db, "SELECT count(*) FROM articles") == [(0,)]
    if content:
        assert result.code == 3 and "junk.warc.gz" in result.err


def test_a_missing_file_or_a_directory_is_an_error_not_a_crash(tmp_path, ipnews):
    db = tmp_path / "x.db"
    missing = ipnews("import", str(tmp_path / "nope.warc.gz"), "--db", str(db))
    assert missing.code == 3 and "nope.warc.gz" in missing.err
    directory = ipnews("import", str(tmp_path), "--db", str(db))
    assert directory.code == 2  # click refuses a directory
    assert "Traceback" not in missing.err + directory.err


# --- replay -----------------------------------------------------------------------------
def test_fetch_replay_from_a_warc_touches_no_network(all_warc, ipnews, tmp_path):
    """The mirrors are closed: every page must come from the file."""
    db, config, warc = all_warc
    replayed = tmp_path / "replayed.db"
    result = ipnews("fetch", "--replay", str(warc), "--db", str(replayed), "--config",
                    str(config))
    assert result.code == 0, result.err
    assert "not captured" in result.err  # the stories skipped as not about IP
    assert "failed" in result.err and ", 0 failed" in result.err
    assert articles(replayed) == articles(db)
    origins = rows(replayed, "SELECT DISTINCT origin FROM runs")
    assert origins == [(f"replay {warc}",)]


def test_fetch_offline_reads_the_archives_own_captures(archive, ipnews):
    db, config = archive
    before = articles(db)
    result = ipnews("fetch", "--offline", "--refresh", "--db", str(db), "--config",
                    str(config))
    assert result.code == 0, result.err
    assert articles(db) == before
    assert rows(db, "SELECT count(*) FROM runs WHERE origin LIKE 'offline%' AND "
                    "requests > 0")[0][0] >= 9


def test_offline_and_replay_together_is_a_usage_error(archive, ipnews, tmp_path):
    db, config = archive
    result = ipnews("fetch", "--offline", "--replay", str(tmp_path / "x.warc.gz"), "--db",
                    str(db), "--config", str(config))
    assert result.code == 2 and "one of them" in result.err


# --- verify and evidence ------------------------------------------------------------------
def test_verify_passes_on_an_intact_archive_and_names_what_was_altered(archive, ipnews):
    db, config = archive
    clean = ipnews("verify", "--db", str(db), "--config", str(config))
    assert clean.code == 0, clean.out + clean.err
    assert clean.out == ""
    everything = json.loads(ipnews("verify", "--all", "--json", "--db", str(db), "--config",
                                   str(config)).out)
    assert len(everything) == len(articles(db))
    assert {(r["raw"], r["row"], r["text"]) for r in everything} == {
        ("intact", "intact", "same")}
    conn = sqlite3.connect(db)
    with conn:
        (cid,) = conn.execute("SELECT capture_id FROM articles WHERE id = 2").fetchone()
        conn.execute("UPDATE captures SET body = ? WHERE id = ?",
                     (zlib.compress(b"<html>forged</html>"), cid))
        conn.execute("UPDATE articles SET body = body || ' Added later.' WHERE id = 3")
        body = conn.execute("SELECT body FROM captures WHERE id = (SELECT capture_id FROM "
                            "articles WHERE id = 4)").fetchone()[0]
        conn.execute("UPDATE captures SET body = ? WHERE id = (SELECT capture_id FROM articles"
                     " WHERE id = 4)", (body[:-10],))
    conn.close()
    result = ipnews("verify", "--json", "--db", str(db), "--config", str(config))
    assert result.code == 3
    found = {r["id"]: r for r in json.loads(result.out)}
    assert set(found) == {2, 3, 4}
    assert found[2]["raw"] == "altered"
    assert found[3]["row"] == "altered" and found[3]["raw"] == "intact"
    assert found[3]["text"] == "differs" and found[3]["differs"] == ["body"]
    assert "body +0/-3 words" in found[3]["detail"]  # "Added", "later", "."
    assert found[4]["raw"] == "damaged"
    assert "3 with problems" in result.err


def test_verify_reports_a_parser_change_as_a_different_text(archive, ipnews):
    db, config = archive
    conn = sqlite3.connect(db)
    with conn:  # as if an older parser had kept a caption line
        title = conn.execute("SELECT title FROM articles WHERE id = 12").fetchone()[0]
        conn.execute("UPDATE articles SET title = ? WHERE id = 12", (title + " (photo)",))
    conn.close()
    result = ipnews("verify", "12", "--json", "--db", str(db), "--config", str(config))
    (record,) = json.loads(result.out)
    assert record["text"] == "differs" and "title" in record["differs"]
    assert ipnews("verify", "99999", "--db", str(db), "--config", str(config)).code == 2


def test_show_evidence_gives_the_fetch_its_headers_digest_and_run(archive, ipnews):
    db, _config = archive
    (aid, sha, fetched_at, asked) = rows(
        db, "SELECT a.id, c.sha256, c.fetched_at, c.final_url FROM articles a JOIN captures c "
            "ON c.id = a.capture_id WHERE a.source = 'people-ip' LIMIT 1")[0]
    text = ipnews("show", str(aid), "--evidence", "--db", str(db))
    assert text.code == 0, text.err
    out = text.out
    for needle in (f"SHA-256          {sha}", f"Fetched at       {fetched_at}",
                   f"GET {asked} HTTP/1.1", "Integrity        match (checked now)",
                   payload_digest(sha), "user-agent: ipnews/", "Stored by        run ",
                   "Came from        the network"):
        assert needle in out, needle
    data = json.loads(ipnews("show", str(aid), "--evidence", "--json", "--db", str(db)).out)
    (record,) = data
    capture = record["captures"][0]["capture"]
    assert capture["sha256"] == sha and capture["sha256_checked"] == "match"
    assert capture["exchange"]["request_headers"]["user-agent"].startswith("ipnews/")
    assert capture["run"]["source"] == "people-ip"


# --- merge ------------------------------------------------------------------------------
def test_merge_gives_the_archive_one_fetch_would_have_made(all_warc, ipnews, tmp_path):
    """The archive cut in two by source (the Chinese and the English sources), with one
    source in both: merged, in either order, it is the whole again."""
    db, config, warc = all_warc
    zh = ("people-ip", "cnipa", "ipcourt", "chinaiplaw")
    en = [n for n in source_names() if n not in zh]
    parts = []
    for name, chosen in (("zh", [*zh, "shine"]), ("en", en)):
        part = tmp_path / f"{name}.db"
        args = [a for n in chosen for a in ("--source", n)]
        assert ipnews("import", str(warc), *args, "--db", str(part), "--config",
                      str(config)).code == 0
        parts.append(part)
    for order, target in ((parts, tmp_path / "ab.db"), (parts[::-1], tmp_path / "ba.db")):
        result = ipnews("merge", *map(str, order), "--db", str(target))
        assert result.code == 0, result.err
        assert articles(target) == articles(db)
        assert history(target) == history(db)
    canonical = "SELECT url FROM article_urls WHERE kind = 'canonical' ORDER BY 1"
    assert rows(tmp_path / "ab.db", canonical) == rows(db, canonical)
    # Merging a file again adds nothing, not even its runs.
    count = "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM runs), " \
            "(SELECT count(*) FROM captures)"
    before = rows(tmp_path / "ab.db", count)
    again = ipnews("merge", str(parts[0]), "--db", str(tmp_path / "ab.db"))
    assert again.code == 0 and " 0 new, 0 updated" in again.err
    assert rows(tmp_path / "ab.db", count) == before
    # A merged capture still names where it came from.
    origin = json.loads(rows(tmp_path / "ab.db", "SELECT origin FROM captures LIMIT 1")[0][0])
    assert origin["merged_from"].endswith(("zh.db", "en.db"))
    assert origin["origin"]["warc"] == str(warc)


def test_merge_keeps_the_text_of_a_damaged_capture_and_says_so(archive, ipnews, tmp_path):
    db, _config = archive
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE captures SET body = x'00' WHERE id = (SELECT capture_id FROM "
                     "articles WHERE id = 5)")
    conn.close()
    target = tmp_path / "merged.db"
    result = ipnews("merge", str(db), "--db", str(target))
    assert result.code == 3 and "1 damaged capture" in result.err
    assert len(articles(target)) == len(articles(db))


def test_merge_refuses_the_target_itself_and_a_missing_file(archive, ipnews, tmp_path):
    db, _config = archive
    assert ipnews("merge", str(db), "--db", str(db)).code == 2
    missing = ipnews("merge", str(tmp_path / "none.db"), "--db", str(tmp_path / "t.db"))
    assert missing.code == 4 and "not found" in missing.err


def test_pywb_indexes_and_replays_the_exported_warc(all_warc, ipnews, tmp_path):
    """A replay tool other than ipnews: pywb, in its own environment (IPNEWS_PYWB names its
    Python; .ci/run builds it)."""
    import os

    python = os.environ.get("IPNEWS_PYWB")
    if not python:
        pytest.skip("IPNEWS_PYWB is not set (`.ci/run` sets it): pywb is not installed")
    db, _config, warc = all_warc
    expected = dict(rows(db, "SELECT c.final_url, c.sha256 FROM articles a JOIN captures c "
                             "ON c.id = a.capture_id"))
    wanted = tmp_path / "expected.json"
    wanted.write_text(json.dumps(expected), "utf-8")
    done = subprocess.run([python, str(Path(__file__).with_name("pywb_check.py")), str(warc),
                           str(wanted)], capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"], report
    assert set(expected) <= set(report["indexed"])
    assert len(report["replayed"]) == len(expected) > 60


def test_warcios_own_notices_never_reach_stderr_and_stderr_stays_ours(exported, ipnews,
                                                                      tmp_path):
    """warcio prints a notice for a record followed by stray bytes; ipnews reports
    problems itself, and a WARC read in several threads (a replay) once left sys.stderr
    redirected into a buffer: every later message was lost."""
    import sys

    _warc, config, data = exported
    plain = gzip.decompress(data)
    second = plain.index(b"WARC/1.1", 10)
    stray = plain[:second] + b"stray line\r\n" + plain[second:]
    path = tmp_path / "stray.warc"
    path.write_bytes(stray)
    result = ipnews("import", str(path), "--db", str(tmp_path / "s.db"), "--config",
                    str(config))
    assert "WARNING" not in result.err
    assert "stray.warc" in result.err  # its own summary line
    # A reader paused between two records (as replay's are) leaves stderr alone.
    from ipnews.warc import Tally, responses

    stderr = sys.stderr
    with path.open("rb") as fh:
        reader = responses(fh, Tally(), 1 << 20)
        assert next(reader).status == 200
        assert sys.stderr is stderr
        reader.close()


# --- history by capture time, whatever the order files come in ---------------------------
def _page(exported) -> tuple[str, bytes, dict[str, str]]:
    """One SHINE article page of the export: its address, body and headers."""
    _warc, _config, data = exported
    with io.BytesIO(data) as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                headers = dict(record.http_headers.headers)
                return (record.rec_headers.get_header("WARC-Target-URI"),
                        record.content_stream().read(), headers)
    raise AssertionError("no response")


def _write(path: Path, captures: list[tuple[str, str, bytes, dict[str, str]]]) -> Path:
    """A WARC of (url, WARC-Date, body, headers) responses, written by warcio."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, date, body, headers in captures:
            http = StatusAndHeaders("200 OK", [(k, v) for k, v in headers.items()
                                               if k.lower() != "content-length"]
                                    + [("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), length=len(body),
                http_headers=http, warc_headers_dict={"WARC-Date": date}))
    return path


def _texts(exported) -> tuple[str, dict[str, str], bytes, bytes, bytes]:
    url, body, headers = _page(exported)
    from ipnews.sources import get_source_class
    from ipnews.worker import InProcess, Job

    source = get_source_class("shine")()
    story = InProcess().extract(Job(source.name, source.base_url, source.settings, body,
                                    "text/html", url)).article.body
    opening = " ".join(story.split()[:3])  # the story's first words, as the page has them
    text = body.decode("utf-8-sig")
    assert opening in text
    edited = text.replace(opening, opening + " indeed", 1)
    return (url, headers, body, edited.encode("utf-8"),
            body + b"\n<!-- another ad -->")  # the same text in other bytes


def _history_after(ipnews, config: Path, db: Path, files: list[Path]) -> list[tuple]:
    for path in files:
        result = ipnews("import", str(path), "--db", str(db), "--config", str(config))
        assert result.code == 0, result.err
    return history(db)


def test_a_revert_imported_in_any_order_gives_one_history(exported, ipnews, tmp_path):
    """The story said A, then B, then A again: three files, imported in every order,
    make the same three versions, and importing them again adds nothing."""
    import itertools

    _warc, config, _data = exported
    url, headers, a, b, a_again = _texts(exported)
    files = [_write(tmp_path / f"{name}.warc.gz", [(url, date, body, headers)])
             for name, date, body in (("t1", "2026-11-01T00:00:00Z", a),
                                      ("t5", "2026-11-05T00:00:00Z", b),
                                      ("t9", "2026-11-09T00:00:00Z", a_again))]
    results = []
    for i, order in enumerate(itertools.permutations(files)):
        db = tmp_path / f"order-{i}.db"
        results.append(_history_after(ipnews, config, db, list(order)))
        assert _history_after(ipnews, config, db, list(order)) == results[-1]
    assert all(r == results[0] for r in results)
    assert len({u for u, _v, _h in results[0]}) == 1
    hashes = [h for _u, _v, h in results[0]]
    assert len(hashes) == 3 and hashes[0] == hashes[2] != hashes[1]
    when = rows(tmp_path / "order-5.db", "SELECT first_seen, updated_at, last_seen FROM "
                                         "articles")
    assert when == [("2026-11-01T00:00:00+00:00", "2026-11-09T00:00:00+00:00",
                     "2026-11-09T00:00:00+00:00")]


def test_an_earlier_capture_of_the_next_text_moves_its_start_not_a_new_version(
        exported, ipnews, tmp_path):
    _warc, config, _data = exported
    url, headers, a, b, _a_again = _texts(exported)
    b_bytes = b + b"<!-- ad -->"
    first = _write(tmp_path / "ab.warc.gz", [(url, "2026-11-01T00:00:00Z", a, headers),
                                             (url, "2026-11-03T00:00:00Z", b, headers)])
    late = _write(tmp_path / "b2.warc.gz", [(url, "2026-11-02T00:00:00Z", b_bytes, headers)])
    db = tmp_path / "x.db"
    got = _history_after(ipnews, config, db, [first, late])
    assert [v for _u, v, _h in got] == [1, 2]
    assert rows(db, "SELECT c.fetched_at FROM articles a JOIN captures c ON c.id = "
                    "a.capture_id") == [("2026-11-02T00:00:00+00:00",)]
    ordered = tmp_path / "y.db"
    assert _history_after(ipnews, config, ordered, [late, first]) == got


def test_merging_an_archive_with_a_revert_twice_adds_nothing(exported, ipnews, tmp_path):
    _warc, config, _data = exported
    url, headers, a, b, a_again = _texts(exported)
    source = tmp_path / "source.db"
    _history_after(ipnews, config, source, [_write(tmp_path / "all.warc.gz", [
        (url, "2026-11-01T00:00:00Z", a, headers), (url, "2026-11-05T00:00:00Z", b, headers),
        (url, "2026-11-09T00:00:00Z", a_again, headers)])])
    target = tmp_path / "merged.db"
    for _ in range(2):
        result = ipnews("merge", str(source), "--db", str(target))
        assert result.code == 0, result.err
        assert history(target) == history(source)
    assert " 0 new, 0 updated" in result.err


# --- what a WARC file is not trusted with -------------------------------------------------
def test_a_warcs_metadata_cannot_mark_a_story_as_a_copy(exported, ipnews, tmp_path):
    """A metadata record naming another story's URL as "the same text" would stop that
    story from ever being read: an import does not believe it."""
    from warcio.warcwriter import WARCWriter

    warc, config, data = exported
    urls = [h.get_header("WARC-Target-URI") for kind, h, _http, _b in records(warc)
            if kind == "response"]
    forged = tmp_path / "forged.warc.gz"
    with forged.open("wb") as fh:
        fh.write(data)
        writer = WARCWriter(fh, gzip=True)
        line = f"ipnews-same-text: {json.dumps([urls[1]])}\r\n".encode()
        writer.write_record(writer.create_warc_record(
            urls[0], "metadata", payload=io.BytesIO(line), length=len(line),
            warc_content_type="application/warc-fields"))
    db = tmp_path / "x.db"
    assert ipnews("import", str(forged), "--db", str(db), "--config", str(config)).code == 0
    assert rows(db, "SELECT count(*) FROM article_urls WHERE kind != 'canonical'") == [(0,)]
    assert len(articles(db)) == len(urls)


def test_a_record_without_a_valid_date_is_reported_and_skipped(exported, ipnews, tmp_path):
    _warc, config, _data = exported
    url, headers, a, _b, _a2 = _texts(exported)
    bad = _write(tmp_path / "nodate.warc.gz", [(url, "not-a-date", a, headers)])
    result = ipnews("import", str(bad), "--db", str(tmp_path / "x.db"), "--config",
                    str(config))
    assert result.code == 3 and "no valid WARC-Date" in result.err
    assert rows(tmp_path / "x.db", "SELECT count(*) FROM captures") == [(0,)]


def test_a_warc_gzipped_whole_imports_and_replays_and_its_cut_is_reported(all_warc, ipnews,
                                                                         tmp_path):
    db, config, warc = all_warc
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(gzip.decompress(warc.read_bytes())))
    imported = tmp_path / "imported.db"
    result = ipnews("import", str(whole), "--db", str(imported), "--config", str(config))
    assert result.code == 0, result.err
    assert articles(imported) == articles(db)
    replayed = tmp_path / "replayed.db"
    result = ipnews("fetch", "--replay", str(whole), "--db", str(replayed), "--config",
                    str(config))
    assert result.code == 0, result.err
    assert articles(replayed) == articles(db)
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    result = ipnews("import", str(cut), "--db", str(tmp_path / "cut.db"), "--config",
                    str(config))
    assert result.code == 3 and "truncated" in result.err and "Traceback" not in result.err
    assert 0 < len(articles(tmp_path / "cut.db")) < len(articles(db))


def test_an_interrupted_import_raises_and_leaves_whole_articles(exported, tmp_path):
    import threading

    from ipnews.errors import Interrupted
    from ipnews.importing import import_file
    from ipnews.sources import get_source_class
    from ipnews.store import Archive
    from ipnews.worker import InProcess

    warc, _config, _data = exported
    stop = threading.Event()

    class SignalAfterTwo(InProcess):
        """A signal arrives while the second page is being parsed."""

        submitted = 0

        def submit(self, job):
            super().submit(job)
            self.submitted += 1
            if self.submitted == 2:
                stop.set()

    archive = Archive.open(tmp_path / "x.db")
    try:
        source = get_source_class("shine")(base_url=_page(exported)[0].rsplit("/news", 1)[0])
        with pytest.raises(Interrupted):
            import_file(archive, [source], warc, cap=1 << 24, extractor=SignalAfterTwo(),
                        stop=stop)
    finally:
        archive.close()
    # The two pages read are saved whole; nothing after them is; the file is sound.
    assert rows(tmp_path / "x.db", "SELECT count(*) FROM articles") == [(2,)]
    assert rows(tmp_path / "x.db", "PRAGMA integrity_check") == [("ok",)]


def test_evidence_prints_no_control_characters_from_a_server(archive, ipnews):
    db, _config = archive
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE captures SET headers = ? WHERE id = (SELECT capture_id FROM "
                     "articles WHERE id = 1)",
                     (json.dumps({"server": "ok\x1b]0;pwned\x07 \u202egnp.exe"}),))
    conn.close()
    out = ipnews("show", "1", "--evidence", "--db", str(db)).out
    assert "server: ok]0;pwned gnp.exe" in out
    assert "\x1b" not in out and "\u202e" not in out


def test_a_record_with_an_unparseable_url_is_passed_over_not_an_error(exported, ipnews,
                                                                      tmp_path):
    _warc, config, _data = exported
    url, headers, a, _b, _a2 = _texts(exported)
    path = _write(tmp_path / "odd.warc.gz", [("http://[::1/x", "2026-11-01T00:00:00Z", a,
                                              headers), (url, "2026-11-02T00:00:00Z", a,
                                                         headers)])
    result = ipnews("import", str(path), "--db", str(tmp_path / "x.db"), "--config",
                    str(config))
    assert result.code == 0, result.err
    assert "1 new" in result.err and "unreadable" not in result.err


def test_a_plain_warc_cut_inside_a_records_headers_is_reported_not_a_crash(exported, ipnews,
                                                                          tmp_path):
    """warcio raises AttributeError on a record cut before its WARC-Target-URI line."""
    _warc, config, data = exported
    plain = gzip.decompress(data)
    second = plain.index(b"WARC/1.1", 10)
    for cut in (second + 60, second + 160, second + 260):
        path = tmp_path / f"cut-{cut}.warc"
        path.write_bytes(plain[:cut])
        result = ipnews("import", str(path), "--db", str(tmp_path / f"{cut}.db"), "--config",
                        str(config))
        assert result.code == 3, result.err
        assert "internal error" not in result.err and "cut-" in result.err
