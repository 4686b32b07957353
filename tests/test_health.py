"""The alarm for a site that changed: a fixture site whose markup changes between two runs."""

from __future__ import annotations

import json

from conftest import rows


def _edit_all(root, pattern: str, old: str, new: str) -> int:
    changed = 0
    for page in root.glob(pattern):
        html = page.read_text("utf-8-sig")
        if old in html:
            page.write_text(html.replace(old, new), "utf-8")
            changed += 1
    return changed


def _args(mirror) -> tuple[str, ...]:
    return ("--db", str(mirror.db), "--config", str(mirror.config))


def test_listing_cards_that_vanish_raise_the_alarm_even_with_q(mirror, ipnews):
    assert ipnews("fetch", "shine", *_args(mirror)).code == 0
    # The site renames its card class: every listing page still answers 200.
    assert _edit_all(mirror.root / "shine/site", "**/index.html", 'class="col-xs-12 story',
                     'class="col-xs-12 item') > 0
    result = ipnews("fetch", "shine", "-q", *_args(mirror))
    assert result.code == 6, result.err
    assert "ALARM shine looks broken: no article links found on" in result.err
    assert "an earlier run found" in result.err
    [shine] = [s for s in json.loads(ipnews("sources", "--json", *_args(mirror)).out)
               if s["name"] == "shine"]
    assert shine["health"] == "broken" and "no article links" in shine["health_note"]
    assert shine["last_ok"]  # the date it was last ok
    table = ipnews("sources", *_args(mirror)).out
    assert "broken" in table and "no article links" in table


def test_pages_that_fall_back_from_the_selectors_raise_the_alarm(mirror, ipnews):
    assert ipnews("fetch", "shine", *_args(mirror)).code == 0
    assert _edit_all(mirror.root / "shine/site", "**/2*/index.html", '<div class="content">',
                     '<div class="story-text">') >= 3
    result = ipnews("fetch", "shine", "--refresh", *_args(mirror))
    assert result.code == 6, result.err
    assert "its own selectors read only 0 of" in result.err
    [(health,)] = rows(mirror.db, "SELECT health FROM runs ORDER BY id DESC LIMIT 1")
    assert health == "broken"


def test_dates_that_go_missing_make_the_source_degraded(mirror, ipnews):
    assert ipnews("fetch", "shine", *_args(mirror)).code == 0
    import re

    root = mirror.root / "shine/site"
    # Every date goes from the article pages (meta, visible time, any date in the text),
    # and from the listing cards.
    for page in root.glob("**/2*/index.html"):
        html = page.read_text("utf-8-sig")
        page.write_text(re.sub(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}", "", html), "utf-8")
    assert _edit_all(root, "**/index.html", "data-date=", "data-x=") > 0
    result = ipnews("fetch", "shine", "--refresh", *_args(mirror))
    assert result.code == 6, result.err
    assert "ALARM shine looks degraded: no date found on" in result.err


def test_a_healthy_source_stays_quiet(mirror, ipnews):
    for _ in range(2):
        result = ipnews("fetch", "-q", *_args(mirror))
        assert (result.code, result.err) == (0, "")
    assert {h for (h,) in rows(mirror.db, "SELECT health FROM runs")} == {"ok"}


def test_a_declared_source_whose_cards_match_nothing_is_broken_at_once(mirror, ipnews):
    config = mirror.root / "declared.toml"
    config.write_text(f"""[fetch]
delay = 0

[sources.wrongcards]
listing = "https://www.shine.cn/news/nation/"
base_url = "{mirror.shine.url}"
card = "div.no-such-card"
""", "utf-8")
    result = ipnews("fetch", "wrongcards", "--db", str(mirror.db), "--config", str(config))
    assert result.code == 6 and "ALARM wrongcards looks broken" in result.err, result.err
