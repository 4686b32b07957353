"""read_metadata: each route of the order of trust against a hand-written page and golden
file in fixtures/metadata/, bounded on hostile input, and never raising on random HTML."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from ipnews.extraction import meta_tags, parse_html
from ipnews.metadata import clean_authors, find_date, parse_any_date, read_metadata, url_date

GENERIC = Path(__file__).resolve().parents[1] / "fixtures" / "metadata"
FIELDS = ("title", "published", "authors", "section", "summary", "tags", "wire_source",
          "editor")
PAGES = sorted(p.stem for p in GENERIC.glob("*.html"))


def read(html: str, url: str = "https://example.com/a") -> dict:
    tree = parse_html(html)
    return read_metadata(tree, meta_tags(tree), url)


@pytest.mark.parametrize("name", PAGES)
def test_fixture_matches_golden(name: str) -> None:
    html = (GENERIC / f"{name}.html").read_text(encoding="utf-8")
    expected = json.loads((GENERIC / "expected" / f"{name}.json").read_text(encoding="utf-8"))
    got = read(html, expected["url"])
    for field in FIELDS:
        if field in expected:
            assert got[field] == expected[field], field
    for field, route in expected.get("sources", {}).items():
        assert got["sources"].get(field) == route, f"route of {field}"


def test_every_fixture_has_a_golden_and_a_model_note() -> None:
    assert len(PAGES) >= 9
    for name in PAGES:
        assert (GENERIC / "expected" / f"{name}.json").exists()
        assert (GENERIC / f"{name}.html").read_text(encoding="utf-8").startswith("<!-- Modeled on:")


def test_result_shape_on_an_empty_page() -> None:
    got = read("<html></html>", "https://example.com/")
    assert got == {"title": None, "published": None, "authors": [], "section": None,
                   "summary": None, "tags": [], "wire_source": None, "editor": None,
                   "sources": {}}


@pytest.mark.parametrize(("text", "iso"), [
    ("2019-09-09 19:32", "2019-09-09T19:32:00+08:00"),
    ("2019年12月10日 10:20", "2019-12-10T10:20:00+08:00"),
    ("2024年04月24日23:52 | 来源：新华网", "2024-04-24T23:52:00+08:00"),
    ("Sep 9, 2019", "2019-09-09"),
    ("9 September 2019, 7:05 pm", "2019-09-09T19:05:00+08:00"),
    ("25/12/2019", "2019-12-25"),
    ("09/10/2019", None),  # September or October: not guessed
    ("2023 11/ 17 20:52:15", "2023-11-17T20:52:15+08:00"),
    ("version 1.2.3", None),
])
def test_find_date(text: str, iso: str | None) -> None:
    assert find_date(text) == iso


def test_ambiguous_numeric_date_settled_by_url() -> None:
    assert find_date("09/10/2019", url_date("https://x.com/2019/10/09/a")) == "2019-10-09"


@pytest.mark.parametrize(("value", "iso"), [
    ("2024-05-09", "2024-05-09"),
    ("2024-05-09T08:30:00Z", "2024-05-09T08:30:00+00:00"),  # as stated: the day stays
    ("2024-05-09 10:00", "2024-05-09T10:00:00+08:00"),
    ("Thu, 09 May 2024 02:00:00 GMT", "2024-05-09T02:00:00+00:00"),
    ("20240509", "2024-05-09"),
    ("not a date", None),
])
def test_parse_any_date(value: str, iso: str | None) -> None:
    assert parse_any_date(value) == iso


@pytest.mark.parametrize(("url", "day"), [
    ("https://a.com/news/2024/05/09/x", "2024-05-09"),
    ("https://a.com/20240509/x.html", "2024-05-09"),
    ("http://china.chinadaily.com.cn/a/202311/17/WS6557.html", "2023-11-17"),
    ("http://www.xinhuanet.com/local/2020-02/19/c_1125597921.htm", "2020-02-19"),
    ("https://www.cnipa.gov.cn/art/2023/2/13/art_3166_182074.html", "2023-02-13"),
    ("http://politics.people.com.cn/n1/2024/0424/c1001-40223222.html", "2024-04-24"),
    ("https://www.shine.cn/news/nation/2002262860/", None),
])
def test_url_date(url: str, day: str | None) -> None:
    got = url_date(url)
    assert (got.isoformat() if got else None) == day


@pytest.mark.parametrize(("raw", "names"), [
    ("By Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
    ("Anna Schmidt und Jonas Weber", ["Anna Schmidt", "Jonas Weber"]),
    ("https://www.facebook.com/someone", []),
    ("desk@example.com", []),
    ("张三、李四，王五", ["张三", "李四", "王五"]),
    ("记者 张三 李四", ["张三", "李四"]),
    ("A. Lee & B. Kim; A. Lee", ["A. Lee", "B. Kim"]),
    ("105092", []),
])
def test_clean_authors(raw: str, names: list[str]) -> None:
    assert clean_authors(raw) == names


def test_wire_agency_in_credit_line_is_not_an_author() -> None:
    got = read("<html><head><meta name='author' content='Xinhua'></head><body><h1>T</h1>"
               "<p>Text.</p><p>Source: Xinhua</p></body></html>")
    assert got["wire_source"] == "Xinhua" and got["authors"] == []


def test_site_name_alone_is_never_the_title() -> None:
    got = read("<html><head><title>Example Agency</title>"
               "<meta property='og:site_name' content='Example Agency'></head>"
               "<body><h1>Example Agency</h1><p>x</p></body></html>")
    assert got["title"] is None


@pytest.mark.parametrize(("body", "names", "route"), [
    # An @graph names the author by reference; the organisation is not a person.
    ('<script type="application/ld+json">{"@graph": [{"@type": "NewsArticle", "headline": '
     '"T", "author": [{"@id": "#p1"}, {"@type": "Organization", "name": "Desk"}]}, '
     '{"@type": "Person", "@id": "#p1", "name": "Lena Ortiz"}]}</script><h1>T</h1>',
     ["Lena Ortiz"], "json-ld"),
    # The theme's byline, not the commenter's nor the photographer's.
    ('<h1>T</h1><div class="comment-author vcard">Klaus</div>'
     '<div class="img__author">Photograph by Ed Roe</div>'
     '<div class="byline__contributors--author">By Jens Peters</div>', ["Jens Peters"],
     "markup"),
    # A dateline that names the author; a label over the name.
    ("<h1>T</h1><p>04.02.2022 | 13:10 Uhr | Uta Berg</p>", ["Uta Berg"], "byline"),
    ("<h1>T</h1><h4>Autor</h4><p>Nikolai Hahn</p>", ["Nikolai Hahn"], "byline"),
    ("<h1>T</h1><p>半月谈记者 史卫燕</p>", ["史卫燕"], "byline"),
    # "Le" is part of the name; "von ... profitieren" is not a byline.
    ("<h1>T</h1><p>Par Loïc Le Clerc</p>", ["Loïc Le Clerc"], "byline"),
    ("<h1>T</h1><p>von Barzahler-Rabatt profitieren</p>", [], None),
    # The credit that closes a Chinese story; a wire credit in an author box is no author.
    ("<h1>T</h1>" + "<p>海关查获假冒商品。</p>" * 45
     + "<p>案件正在审理中。（记者宋晨、田中全）</p>", ["宋晨", "田中全"], "credit"),
    ('<h1>T</h1><div class="author">来源：新华网</div>', [], None),
])
def test_author_routes(body: str, names: list[str], route: str | None) -> None:
    got = read(f"<html><head></head><body>{body}</body></html>")
    assert got["authors"] == names
    assert got["sources"].get("authors") == route


# ---- hostile input ------------------------------------------------------------------------

def timed(html: str) -> tuple[dict, float]:
    tree = LexborHTMLParser(html)  # not parse_html: its 5 MB page cap would refuse some
    metas = meta_tags(tree)
    start = time.perf_counter()
    got = read_metadata(tree, metas, "https://example.com/2024/05/09/x")
    return got, time.perf_counter() - start


def test_huge_json_ld_is_skipped_quickly() -> None:
    blob = '{"@type": "NewsArticle", "headline": "H", "articleBody": "' + "x" * 5_000_000 + '"}'
    got, seconds = timed(f'<script type="application/ld+json">{blob}</script><h1>Real</h1>')
    assert seconds < 1.0
    assert got["title"] == "Real"


def test_deeply_nested_json_ld_does_not_raise() -> None:
    deep = "[" * 200_000 + "]" * 200_000
    nested = '{"@graph": ' * 5_000 + '{"@type": "NewsArticle", "headline": "Deep"}' + "}" * 5_000
    html = (f'<script type="application/ld+json">{deep}</script>'
            f'<script type="application/ld+json">{nested}</script><h1>Shallow</h1>')
    got, seconds = timed(html)
    assert seconds < 1.0
    assert got["title"] == "Shallow"


def test_many_json_ld_scripts_are_capped() -> None:
    html = '<script type="application/ld+json">{"@type": "Thing"}</script>' * 5_000
    _, seconds = timed(html + "<h1>T</h1>")
    assert seconds < 1.0


@pytest.mark.parametrize("line", [
    "By " + "a " * 1_000_000,
    "Source: " + "x" * 2_000_000,
    "来源：" + "：" * 1_000_000,
    "责任编辑：" + "【" * 1_000_000,
    "2019-" * 400_000,
    "9 " * 1_000_000 + "September",
    "By " + "and " * 500_000,
])
def test_mb_long_lines_finish_quickly(line: str) -> None:
    got, seconds = timed(f"<h1>Headline</h1><p>{line}</p><p>{line}</p>")
    assert seconds < 1.0
    assert got["title"] == "Headline"


def test_mb_long_meta_values_finish_quickly() -> None:
    value = ("By A and " * 200_000).replace('"', "")
    html = (f'<meta name="author" content="{value}"><meta name="pubdate" content="{"1" * 10**6}">'
            f'<title>{"x - " * 200_000}</title><h1>H</h1>')
    _, seconds = timed(html)
    assert seconds < 1.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(
    st.sampled_from(["<h1>", "</h1>", "<p>", "<time datetime='", "'>",
                     "<meta name='author' content='",
                     "<meta property='og:title' content='", '<script type="application/ld+json">',
                     "</script>", '{"@type": "NewsArticle", "author": ', '"@graph": [', "]", "}",
                     "By ", "来源：", "责任编辑：", "记者 ", "2019年12月10日", "09/10/2019",
                     " and ", "、", "<title>", " - ", "_新华网", "</title>"]),
    st.text(max_size=30)), max_size=40), st.text(max_size=60))
def test_never_raises_on_random_html(parts: list[str], url: str) -> None:
    got = read("".join(parts), url)
    assert set(got) >= set(FIELDS) | {"sources"}
    assert isinstance(got["authors"], list) and isinstance(got["tags"], list)
