"""Golden files: each fixture article page against the JSON written by hand for it.

`pytest --regen-golden` rewrites the "expected" blocks from the current extractors;
read `git diff fixtures/` before committing what it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipnews.decoding import decode_html
from ipnews.relevance import ip_terms
from ipnews.sources import get_source_class, registry, source_names
from ipnews.worker import ListingJob

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# One directory per source (fixtures/metadata/ holds the generic reader's own goldens).
GOLDEN = sorted(p for p in FIXTURES.glob("*/expected/*.json")
                if p.parent.parent.name in source_names())
FIELDS = ("title", "published_at", "authors", "wire_source", "editor", "section", "summary",
          "tags", "language", "body", "attachments")


def _extract(path: Path):
    """The golden's data and the article its page gives; a story over several pages
    ("pages": its files in order) is joined as a fetch joins it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    source = get_source_class(path.parent.parent.name)()
    files = data.get("pages") or [data["fixture"]]
    articles = []
    for file in files:
        html = decode_html((path.parent.parent / file).read_bytes(), None).text
        url = data["url"] if not articles else articles[0].more_pages[len(articles) - 1]
        articles.append(source.extract(html, url))
    if len(files) > 1:
        assert articles[0].more_pages, "the first page does not name the next"
        return data, source.join_pages(articles[0], articles[1:])
    return data, articles[0]


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_extraction_matches_golden(golden: Path, request: pytest.FixtureRequest) -> None:
    data, article = _extract(golden)
    got = {f: getattr(article, f) for f in FIELDS}
    if request.config.getoption("--regen-golden"):
        data["expected"] = got
        golden.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
        return
    for field in FIELDS:
        assert got[field] == data["expected"].get(field, []), field
    if "relevant" in data:
        assert bool(ip_terms(" ".join((article.title, article.summary or "",
                                        " ".join(article.tags), article.body)))) is \
            data["relevant"]


@pytest.mark.parametrize("name", list(registry()))
def test_every_source_has_fixtures_and_goldens(name: str) -> None:
    folder = FIXTURES / name
    assert (folder / "site").is_dir(), f"{name} has no fixture site"
    pages = [p for p in (folder / "expected").glob("*.json")]
    assert len(pages) >= 6, f"{name} needs golden files for at least 6 article pages"
    # Every page, listing and feed says so (JSON has no comments: its README does).
    for page in (folder / "site").rglob("*"):
        if not page.is_file() or page.name == "robots.txt" or page.suffix == ".json":
            continue
        head = page.read_bytes()[:400].decode("utf-8-sig", "replace")
        assert "fixture" in head and "modeled on" in head, f"{page} does not say it is ours"


def test_ctplo_same_post_in_three_markups_extracts_the_same() -> None:
    results = {}
    for path in sorted((FIXTURES / "ctplo" / "expected").glob("*.json")):
        _data, article = _extract(path)
        stem = path.stem.split(".")[0]
        results.setdefault(stem, []).append({f: getattr(article, f) for f in FIELDS})
    multi = {k: v for k, v in results.items() if len(v) >= 3}
    assert multi, "one CTPLO post must exist in at least three markups"
    for versions in multi.values():
        assert all(v == versions[0] for v in versions)


def test_shine_listing_goldens() -> None:
    """Each listing page's cards and next page, parsed in site order by one source (page 1
    carries the pagination model that the list_N fragments lack)."""
    folder = FIXTURES / "shine" / "expected" / "listings"
    goldens = [json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.json"))]
    assert goldens
    shine = get_source_class("shine")()
    for data in sorted(goldens, key=lambda d: d["url"]):  # .../nation/ before list_2
        html = decode_html((FIXTURES / "shine" / data["fixture"]).read_bytes(), None).text
        listing = shine.parse_listing(html, data["url"])
        assert [i.url for i in listing.items] == [
            "https://www.shine.cn" + s["href"] for s in data["stories"]], data["url"]
        assert [i.title for i in listing.items] == [s["title"] for s in data["stories"]]
        assert [i.summary for i in listing.items] == [s["summary"] for s in data["stories"]]
        # The goldens name the next page by its fixture file: site/<path>.
        next_page = data["next_page"] and "https://www.shine.cn/" + data["next_page"].removeprefix(
            "site/")
        assert listing.next_url == next_page, data["url"]


LISTINGS = sorted(p for p in FIXTURES.glob("*/expected/listings/*.json")
                  if p.parent.parent.parent.name in source_names()
                  and p.parent.parent.parent.name != "shine")  # shine: its own format, above


@pytest.mark.parametrize("golden", LISTINGS,
                         ids=lambda p: f"{p.parent.parent.parent.name}/{p.stem}")
def test_listing_goldens(golden: Path) -> None:
    """Each listing document's article links, headlines, dates and next document, against
    the JSON written by hand for it. (A document that names another of a kind, Xinhua's hub
    naming its JSON list, gives it as `more`.)"""
    data = json.loads(golden.read_text("utf-8"))
    folder = golden.parent.parent.parent
    source = get_source_class(folder.name)()
    kind = "feed" if data["fixture"].endswith(".xml") else "listing"
    job = ListingJob(source.name, source.base_url, dict(source.settings), {},
                     (folder / data["fixture"]).read_bytes(), None,
                     source.canonical(data["url"]), kind)
    listing = job.run({}).page  # as a fetch reads it: decoded, then parsed
    assert [(i.url, i.title, i.published_at) for i in listing.items] == [
        (i["url"], i["title"], i["published_at"]) for i in data["items"]]
    following = listing.next_url or (listing.more[0] if listing.more else None)
    expected = data["next_url"] and source.canonical(data["next_url"])
    assert following == expected
