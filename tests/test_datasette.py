"""Datasette on an ipnews archive, through Datasette's own test client: the plugin that
`pip install 'ipnews[datasette]'` brings (its entry point is installed with the package)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ipnews.article import Article
from ipnews.store import Archive

datasette_app = pytest.importorskip("datasette.app")


@pytest.fixture
def served(tmp_path: Path):
    db = tmp_path / "ipnews.db"
    archive = Archive.open(db)
    stories = [
        ("Shanghai customs seize fake trademarks", "Customs officers seized goods with "
         "counterfeit trademarks at Pudong airport. " * 8, "shine", "en", "2026-11-20"),
        ("上海海关查获侵权运动鞋", "海关在口岸查获假冒商标运动鞋。知识产权保护持续加强。" * 8,
         "cnipa", "zh", "2025-11-19"),
        ("Court rules on patent licensing", "The court ruled on a patent licence. " * 8,
         "chinadaily", "en", "2026-11-18"),
    ]
    for n, (title, body, source, language, day) in enumerate(stories, 1):
        archive.save(Article(source=source, url=f"https://example.com/{n}.html", title=title,
                             body=body, language=language, published_at=day))
    archive.close()
    ds = datasette_app.Datasette([str(db)])
    return ds


def get(ds, path: str):
    async def fetch():
        return await ds.client.get(path)
    return asyncio.run(fetch())


def test_the_stories_list_is_readable_and_faceted(served):
    page = get(served, "/ipnews/stories.json?_shape=objects&_extra=facet_results")
    assert page.status_code == 200
    data = page.json()
    rows = data["rows"]
    assert rows[0]["title"] == "Shanghai customs seize fake trademarks"  # newest first
    assert set(rows[0]) == {"id", "published_at", "year", "source", "title", "topics",
                            "language", "section", "url", "copies", "also_in"}
    facets = data["facet_results"]["results"] if "results" in data["facet_results"] else \
        data["facet_results"]
    assert {"source", "topics", "language", "year"} <= set(facets)
    topics = {f["value"] for f in facets["topics"]["results"]}
    assert {"customs", "trademark", "counterfeiting", "patent"} <= topics


def test_the_entities_table_is_faceted_on_kind_and_label(served):
    page = get(served, "/ipnews/entities.json?_shape=objects&_extra=facet_results")
    assert page.status_code == 200
    data = page.json()
    facets = data["facet_results"]["results"] if "results" in data["facet_results"] else \
        data["facet_results"]
    assert {"kind", "label"} <= set(facets)
    assert {f["value"] for f in facets["kind"]["results"]} == {"authority"}
    # 上海海关 in the Chinese story: Shanghai Customs, an authority both stories' readers know
    assert any("上海海关" in f["value"] for f in facets["label"]["results"])


@pytest.mark.parametrize(("term", "want"), [
    ("trademark", {"Shanghai customs seize fake trademarks", "上海海关查获侵权运动鞋"}),
    ("知识产权", {"上海海关查获侵权运动鞋"}),  # four characters, from the pairs
    ("海关", {"Shanghai customs seize fake trademarks", "上海海关查获侵权运动鞋"}),
    ("licences", {"Court rules on patent licensing"}),
])
def test_the_search_box_finds_both_languages_and_word_forms(served, term, want):
    for table in ("articles", "stories"):
        page = get(served, f"/ipnews/{table}.json?_search={term}&_shape=objects")
        assert page.status_code == 200, page.text
        assert {r["title"] for r in page.json()["rows"]} == want, (table, term)


def test_the_search_query_ranks_and_highlights(served):
    page = get(served, "/ipnews/search.json?q=海关&_shape=objects")
    assert page.status_code == 200, page.text
    rows = page.json()["rows"]
    assert {r["title"] for r in rows} == {"Shanghai customs seize fake trademarks",
                                          "上海海关查获侵权运动鞋"}
    assert all("**" in r["snippet"] for r in rows)
    html = get(served, "/ipnews/search?q=%E6%B5%B7%E5%85%B3").text
    assert "<mark>海关</mark>" in html
    assert '<a href="https://example.com/2.html"' in html  # a URL people can click
    assert json.dumps("search")  # the canned query is listed on the database page
    assert "Search, best first" in get(served, "/ipnews").text
