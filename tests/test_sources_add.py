"""`ipnews sources add` end to end: probe a local copy of a fixture blog, write the
config, then fetch the source it declared."""

from __future__ import annotations

import json

from test_probe import ROUNDUP, serve  # noqa: F401 - serve is a fixture


def test_sources_add_writes_a_source_that_fetch_reads(serve, tmp_path, ipnews):  # noqa: F811
    server = serve("wpblog")
    config = tmp_path / "config.toml"
    config.write_text("[fetch]\ndelay = 0\nstale_after = 0\n", "utf-8")
    args = ("--config", str(config), "--db", str(tmp_path / "a.db"))
    dry = ipnews("sources", "add", server.url + "/", "--name", "ipwatch", "--dry-run", *args)
    assert dry.code == 0, dry.err
    assert dry.out.startswith("[sources.ipwatch]\n") and 'body = "div.entry-content"' in dry.out
    assert "chose the feed" in dry.err and "published" in dry.err  # notes, samples table
    assert config.read_text("utf-8") == "[fetch]\ndelay = 0\nstale_after = 0\n"

    added = ipnews("sources", "add", server.url + "/", "--name", "ipwatch", *args)
    assert added.code == 0 and added.out == "", added.err
    assert config.read_text("utf-8").startswith("[fetch]\ndelay = 0\nstale_after = 0\n\n"
                                                "[sources.ipwatch]\n")
    again = ipnews("sources", "add", server.url + "/", "--name", "ipwatch", *args)
    assert again.code == 2 and "[sources.ipwatch] already exists" in again.err
    builtin = ipnews("sources", "add", server.url + "/", "--name", "shine", *args)
    assert builtin.code == 2 and "built-in" in builtin.err

    # A site the user typed at a private address keeps that address as its base_url, the
    # one setting that lets fetch read a private address.
    assert f'base_url = "{server.url}"' in config.read_text("utf-8")
    listed = json.loads(ipnews("sources", "--json", *args).out)
    assert [s["finds"] for s in listed if s["name"] == "ipwatch"] == ["feed"]
    fetched = ipnews("fetch", "ipwatch", *args)
    assert fetched.code == 0 and "ipwatch: 4 new" in fetched.err, fetched.err
    found = json.loads(ipnews("search", "roundup", "--source", "ipwatch", "--json", *args).out)
    assert [r["url"] for r in found] == [server.url + ROUNDUP]


def test_sources_add_refuses_to_write_through_a_symlink(serve, tmp_path, ipnews):  # noqa: F811
    server = serve("cmslisting")
    real = tmp_path / "real.toml"
    real.write_text("", "utf-8")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    result = ipnews("sources", "add", server.url + "/col/col53/index.html", "--config",
                    str(link), "--db", str(tmp_path / "a.db"))
    assert result.code == 4 and "symbolic link" in result.err
    assert real.read_text("utf-8") == ""


def test_sources_add_declares_a_site_of_cnipas_cms_by_its_column(tmp_path, ipnews):
    """A provincial IP office runs CNIPA's CMS: given one of its column pages (or an
    article), `sources add` declares the CMS and the column, and fetch reads it whole."""
    from conftest import FIXTURES
    from server import SiteServer

    site = SiteServer(FIXTURES / "cnipa" / "site", content_type="text/html; charset=UTF-8")
    try:
        config = tmp_path / "config.toml"
        config.write_text("[fetch]\ndelay = 0\n", "utf-8")
        args = ("--config", str(config), "--db", str(tmp_path / "a.db"))
        dry = ipnews("sources", "add", site.url + "/art/2026/11/17/art_53_201198.html",
                     "--name", "office", "--dry-run", *args)
        assert dry.code == 0, dry.err
        assert 'cms = "jcms"' in dry.out and 'columns = ["53"]' in dry.out, dry.out
        added = ipnews("sources", "add", site.url + "/col/col74/index.html", "--name",
                       "office", *args)
        assert added.code == 0, added.err
        assert 'columns = ["74"]' in config.read_text("utf-8")
        fetched = ipnews("fetch", "office", *args)
        # Column 74 over its two pages: three announcements, their PDFs as attachments.
        assert fetched.code == 0 and "office: 3 new" in fetched.err, fetched.err
    finally:
        site.close()
