"""Following a matter: one story across outlets, its guard, entities in the archive, edits
as diffs, watches and Atom feeds. Real SQLite files, articles stored through
Archive.save, the CLI through click; the watches also across two real fetches."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest

from conftest import rows
from ipnews.article import Article
from ipnews.store import Archive

WIRE = [
    "BEIJING, Nov. 20 (Xinhua) -- Shanghai customs seized 1,200 pairs of counterfeit Nike "
    "sneakers at Yangshan port last week, the General Administration of Customs said on "
    "Wednesday.",
    "The shoes were hidden in a container declared as sports socks and bound for the "
    "Middle East, according to a statement from the agency.",
    "Officers found the consignment during a routine risk check and called in the brand "
    "owner, who confirmed that the goods infringed its registered trademarks.",
    "China has stepped up border enforcement against counterfeit goods this year, with "
    "customs across the country running a special campaign against infringing exports.",
    "The case has been handed over to the police for further investigation, the statement "
    "said, adding that the exporter faces administrative fines and possible charges.",
]

WIRE_ZH = [
    "新华社上海11月20日电 上海海关近日在洋山港查获侵权运动鞋1200双，货物申报为运动袜，"
    "目的地为中东地区。",
    "海关关员在例行风险布控中发现该批货物，经权利人确认，上述商品侵犯其注册商标专用权。",
    "今年以来，全国海关持续开展知识产权保护专项行动，严厉打击侵权商品出口。",
    "目前，案件已移交公安机关进一步侦查，涉事出口企业将面临行政处罚。",
]


def story(source: str, url: str, paragraphs: list[str], title: str = "Customs seize fakes",
          published: str = "2026-11-20T10:00:00+08:00", language: str = "en") -> Article:
    return Article(source=source, url=url, title=title, body="\n\n".join(paragraphs),
                   published_at=published, language=language)


@pytest.fixture
def archive(tmp_path: Path):
    archive = Archive.open(tmp_path / "stories.db")
    yield archive
    archive.close()


def story_ids(db: Path) -> dict[str, int]:
    return {url: story for url, story in rows(db, "SELECT url, story_id FROM articles")}


def test_copies_with_edits_across_outlets_are_one_story(archive):
    edited = [p.replace("BEIJING, Nov. 20 (Xinhua) -- ", "") for p in WIRE]
    saved = [
        archive.save(story("xinhua", "https://english.news.cn/a", WIRE)),
        # China Daily: no dateline, its own headline, the last paragraph trimmed.
        archive.save(story("chinadaily", "https://www.chinadaily.com.cn/b", edited[:-1],
                           title="Shanghai port catches fake Nikes")),
        # Global Times: "U.S."-style edits and a paragraph split in two.
        archive.save(story("globaltimes", "https://www.globaltimes.cn/c",
                           [*WIRE[:2], *WIRE[2].split(", who "), *WIRE[3:]])),
        # Another story altogether.
        archive.save(story("shine", "https://www.shine.cn/d", [
            "A Hangzhou court jailed three operators of a pirated web novel app for copying "
            "more than 4,000 titles without permission, the court said on Monday.",
            "The app drew millions of readers before the publisher complained to the police, "
            "and the operators earned advertising income from the pirated books.",
            "The court also fined the operators and ordered the app's servers confiscated."])),
    ]
    ids = story_ids(archive.path)
    first = saved[0].article_id
    assert ids["https://english.news.cn/a"] == first
    assert ids["https://www.chinadaily.com.cn/b"] == first
    assert ids["https://www.globaltimes.cn/c"] == first
    assert ids["https://www.shine.cn/d"] == saved[3].article_id  # a story of its own
    assert rows(archive.path, "SELECT count(*) FROM articles")[0][0] == 4  # nothing deleted


@pytest.mark.parametrize(("old", "new", "why"), [
    ("1,200 pairs", "12,000 pairs", "a number"),
    ("Shanghai customs", "Ningbo customs", "a place"),
    ("counterfeit Nike", "counterfeit Adidas", "a party"),
    ("on Wednesday", "on Nov. 27", "a date"),
    ("on Wednesday", "on Thursday", "a day at the end of a sentence"),
    ("Yangshan port", "Waigaoqiao Free Trade Zone", "a place of several words"),
])
def test_the_guard_keeps_apart_copies_that_differ_in_a_fact(archive, old, new, why):
    first = archive.save(story("xinhua", "https://english.news.cn/a", WIRE))
    changed = [p.replace(old, new) for p in WIRE]
    assert changed != WIRE
    other = archive.save(story("shine", "https://www.shine.cn/b", changed))
    ids = story_ids(archive.path)
    assert ids["https://www.shine.cn/b"] == other.article_id != first.article_id, why


def test_chinese_copies_are_one_story_and_a_changed_number_is_not(archive):
    first = archive.save(story("xinhua", "http://www.news.cn/a", WIRE_ZH,
                               title="上海海关查获侵权鞋", language="zh"))
    trimmed = [WIRE_ZH[0].replace("新华社上海11月20日电 ", ""), *WIRE_ZH[1:3]]
    copy = archive.save(story("people-ip", "http://ip.people.com.cn/b", trimmed,
                              title="洋山港查获侵权运动鞋", language="zh"))
    other = archive.save(story("chinadaily", "https://cn.chinadaily.com.cn/c",
                               [p.replace("1200双", "12000双") for p in WIRE_ZH],
                               title="上海海关查获侵权鞋", language="zh"))
    ids = story_ids(archive.path)
    assert ids["http://ip.people.com.cn/b"] == first.article_id != copy.article_id
    assert ids["https://cn.chinadaily.com.cn/c"] == other.article_id


@pytest.mark.parametrize(("old", "new", "why"), [
    ("上海海关", "宁波海关", "a customs district"),
    ("阿迪达斯", "耐克", "a brand in quotes"),
    ("11月18日", "11月25日", "a date"),
])
def test_the_guard_in_chinese(archive, old, new, why):
    base = [p.replace("近日", "11月18日").replace("侵权运动鞋", "“阿迪达斯”运动鞋")
            for p in WIRE_ZH]
    first = archive.save(story("xinhua", "http://www.news.cn/a", base, language="zh"))
    changed = [p.replace(old, new) for p in base]
    assert changed != base
    other = archive.save(story("people-ip", "http://ip.people.com.cn/b", changed,
                               language="zh"))
    assert story_ids(archive.path)["http://ip.people.com.cn/b"] == other.article_id != \
        first.article_id, why
    # and the same text without its dateline is a copy
    copy = archive.save(story("chinadaily", "https://cn.chinadaily.com.cn/c",
                              [base[0].replace("新华社上海11月20日电 ", ""), *base[1:]],
                              language="zh"))
    assert story_ids(archive.path)["https://cn.chinadaily.com.cn/c"] == first.article_id \
        != copy.article_id


def test_search_and_export_show_one_row_per_story_unless_all_copies(archive, ipnews):
    archive.save(story("xinhua", "https://english.news.cn/a", WIRE,
                       published="2026-11-20T10:00:00+08:00"))
    archive.save(story("chinadaily", "https://www.chinadaily.com.cn/b", WIRE[1:],
                       published="2026-11-19T09:00:00+08:00"))
    archive.close()
    db = str(archive.path)
    found = json.loads(ipnews("search", "counterfeit", "--json", "--db", db).out)
    assert len(found) == 1
    assert [c["source"] for c in found[0]["also_in"]] == ["chinadaily"]
    assert found[0]["first_published"] == "2026-11-19T09:00:00+08:00"
    every = json.loads(ipnews("search", "counterfeit", "--json", "--all-copies", "--db",
                              db).out)
    assert sorted(r["source"] for r in every) == ["chinadaily", "xinhua"]
    table = ipnews("search", "counterfeit", "--db", db).out
    assert "also in" in table and "chinadaily" in table
    exported = [json.loads(line) for line in ipnews("export", "--jsonl", "--db", db).out
                .splitlines()]
    assert len(exported) == 1 and exported[0]["also_in"][0]["source"] == "chinadaily"
    assert len(ipnews("export", "--jsonl", "--all-copies", "--db", db).out.splitlines()) == 2
    shown = json.loads(ipnews("show", "1", "--json", "--db", db).out)[0]
    assert shown["copies"][0]["source"] == "chinadaily"
    assert shown["copies"][0]["differs"]["words_removed"] > 10  # its first paragraph
    assert "chinadaily" in ipnews("show", "1", "--db", db).out


def test_stories_rebuild_gives_the_same_stories(archive, ipnews):
    archive.save(story("xinhua", "https://english.news.cn/a", WIRE))
    archive.save(story("chinadaily", "https://www.chinadaily.com.cn/b", WIRE[:-1]))
    archive.save(story("shine", "https://www.shine.cn/c",
                       [p.replace("1,200", "12,000") for p in WIRE]))
    before = story_ids(archive.path)
    archive.close()
    db = str(archive.path)
    result = ipnews("stories", "--rebuild", "--db", db)
    assert result.code == 0, result.err
    assert story_ids(archive.path) == before
    listed = json.loads(ipnews("stories", "--json", "--db", db).out)
    assert [r["id"] for r in listed] == [1] and listed[0]["also_in"][0]["id"] == 2


def test_entities_are_stored_found_and_counted_in_both_languages(archive, ipnews):
    archive.save(story("xinhua", "https://english.news.cn/a", [
        *WIRE[:3], "The Supreme People's Court upheld the ruling in case (2023) Zui Gao Fa Zhi "
        "Min Zhong No. 123, involving patent ZL 2019 1 0123456.7, the court said."]))
    archive.save(story("people-ip", "http://ip.people.com.cn/b", [
        "最高人民法院知识产权法庭近日审结（2023）最高法知民终123号案，涉及专利号为"
        "ZL201910123456.7的发明专利，判决维持原判。" * 2], title="最高法审结专利案",
        language="zh"))
    archive.close()
    db = str(archive.path)
    cases = json.loads(ipnews("entities", "--kind", "case", "--json", "--db", db).out)
    assert len(cases) == 1 and cases[0]["articles"] == 2  # the two forms meet
    patents = json.loads(ipnews("entities", "--kind", "patent", "--json", "--db", db).out)
    assert len(patents) == 1 and patents[0]["articles"] == 2
    for value in ("(2023) Zui Gao Fa Zhi Min Zhong No. 123", "（2023）最高法知民终123号",
                  "ZL201910123456.7"):
        found = json.loads(ipnews("search", "--entity", value, "--json", "--all-copies",
                                  "--db", db).out)
        assert sorted(r["source"] for r in found) == ["people-ip", "xinhua"], value
    bad = ipnews("search", "--entity", "no such thing", "--db", db)
    assert bad.code == 2 and "--entity" in bad.err and "Traceback" not in bad.err


def test_diff_shows_an_edit_in_english_and_in_chinese(archive, ipnews):
    archive.save(story("xinhua", "https://english.news.cn/a", WIRE))
    archive.save(story("xinhua", "https://english.news.cn/a",
                       [WIRE[0].replace("1,200", "1,300"), *WIRE[1:]]))
    archive.save(story("people-ip", "http://ip.people.com.cn/b", WIRE_ZH, title="海关查获",
                       language="zh"))
    archive.save(story("people-ip", "http://ip.people.com.cn/b",
                       [WIRE_ZH[0].replace("1200双", "1300双"), *WIRE_ZH[1:]],
                       title="海关查获", language="zh"))
    archive.close()
    db = str(archive.path)
    plain = ipnews("diff", "1", "--db", db)
    assert plain.code == 0, plain.err
    assert "[-1,200-]" in plain.out and "{+1,300+}" in plain.out and "\x1b" not in plain.out
    changes = json.loads(ipnews("diff", "2", "--json", "--db", db).out)["changes"]
    body = next(c for c in changes if c["field"] == "body")["changes"]
    assert {"op": "delete", "text": "1200"} in body and {"op": "insert", "text": "1300"} in body
    shown = ipnews("show", "1", "--versions", "--db", db).out
    assert "v1 -> v2" in shown and "{+1,300+}" in shown
    assert ipnews("diff", "1", "5", "--db", db).code == 2


def test_atom_feeds_from_search_and_export_are_valid(archive, ipnews):
    archive.save(story("xinhua", "https://english.news.cn/a", WIRE))
    archive.save(story("people-ip", "http://ip.people.com.cn/b", WIRE_ZH, title="上海海关查获",
                       language="zh"))
    archive.close()
    db = str(archive.path)
    for args in (("search", "customs"), ("export",), ("entities",)):
        out = ipnews(*args, "--atom", "--db", db).out
        feed = feedparser.parse(out)
        assert not feed.bozo and feed.version == "atom10", args
    feed = feedparser.parse(ipnews("search", "customs", "--atom", "--db", db).out)
    assert {e.link for e in feed.entries} == {"https://english.news.cn/a",
                                              "http://ip.people.com.cn/b"}


def test_a_watch_reports_each_new_story_once_across_two_fetches(mirror, ipnews):
    args = ("--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews("fetch", "ctplo", "-q", *args).code == 0
    assert ipnews("watch", "add", "sneakers", "sneakers", *args).code == 0
    assert ipnews("watch", "add", "sneakers", "x", *args).code == 2  # the name is taken
    first = ipnews("watch", "run", *args)
    assert (first.code, first.out, first.err) == (0, "", "")  # nothing new: quiet
    assert ipnews("fetch", "shine", "-q", *args).code == 0  # the second fetch brings news
    news = json.loads(ipnews("watch", "run", "--json", *args).out)
    assert news and all(r["watch"] == "sneakers" and r["source"] == "shine" for r in news)
    assert all("sneaker" in (r["title"] + r["snippet"]).lower() for r in news)
    again = ipnews("watch", "run", *args)
    assert (again.code, again.out) == (0, "")  # reported once
    listed = json.loads(ipnews("watch", "list", "--json", *args).out)
    assert listed[0]["reported"] == len(news)
    assert feedparser.parse(ipnews("watch", "run", "sneakers", "--atom", *args).out).version \
        == "atom10"
    assert ipnews("watch", "rm", "sneakers", *args).code == 0
    assert ipnews("watch", "run", "sneakers", *args).code == 2


def test_copies_that_fill_the_first_page_still_leave_room_for_other_stories(archive, ipnews):
    for n, source in enumerate(("xinhua", "chinadaily", "globaltimes", "shine")):
        archive.save(story(source, f"https://example.com/{n}",
                           [*WIRE[:5 - n % 2], f"Edited by the {source} desk."]))
    archive.save(story("ctplo", "http://www.ctplo.com/blog/other", [
        "Customs in Ningbo found 300 fake car parts in a container bound for Dubai, the "
        "customs office said on Friday, and handed the case to the police.",
        "The parts carried the marks of two German carmakers and were declared as scrap.",
        "Ningbo customs has seized more than 20 such shipments this year."]))
    archive.close()
    found = json.loads(ipnews("search", "customs", "--limit", "2", "--json", "--db",
                              str(archive.path)).out)
    assert len(found) == 2 and len({r["story_id"] for r in found}) == 2
    wire = next(r for r in found if r["source"] != "ctplo")
    assert len(wire["also_in"]) == 3


def test_a_fetch_fingerprints_in_the_extraction_process_not_the_parent(mirror, ipnews,
                                                                       monkeypatch):
    import ipnews.clustering as clustering

    made_here: list[str] = []
    real = clustering.analyse
    monkeypatch.setattr(clustering, "analyse",
                        lambda *text: made_here.append(text[0]) or real(*text))
    args = ("--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews("fetch", "shine", "-q", *args).code == 0
    stored = rows(mirror.db, "SELECT count(*) FROM articles")[0][0]
    assert stored and rows(mirror.db, "SELECT count(*) FROM fingerprints")[0][0] == stored
    assert rows(mirror.db, "SELECT count(*) FROM articles WHERE story_id IS NULL") == [(0,)]
    assert made_here == []  # the parent only stored what the child made
