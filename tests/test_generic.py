"""The generic extractor end to end: `ipnews extract --jsonl` over the hand-written pages of
fixtures/generic/, one process for the batch, each line against its hand-written golden.

The pages cover what the generic path used to get wrong: a real short bilingual brief, a
how-to whose body is a checklist, a story followed by related links and comments with a
byline only in the theme's markup, a UTF-8 page that declares ISO-8859-1, and a list of
headlines that must still be refused."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES, run_child

GENERIC = FIXTURES / "generic"
PAGES = sorted(GENERIC.glob("*.html"))


def _golden(page: Path) -> dict:
    return json.loads((GENERIC / "expected" / f"{page.stem}.json").read_text("utf-8"))


def test_every_page_has_a_golden_and_a_model_note() -> None:
    assert len(PAGES) >= 5
    for page in PAGES:
        assert page.read_text("utf-8").startswith("<!-- Modeled on:")
        _golden(page)


def test_batch_matches_the_goldens_line_by_line_in_order() -> None:
    done = run_child(["extract", "--jsonl", *map(str, PAGES)])
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["input"] for line in lines] == list(map(str, PAGES))
    for page, got in zip(PAGES, lines, strict=True):
        expected = _golden(page)
        for field, value in expected.items():
            assert got.get(field) == value, f"{page.name}: {field}"
        assert ("error" in got) == ("error" in expected), page.name
    # The refused page makes the batch partial (exit 3), not a failure of the others.
    assert done.returncode == 3
    assert sum("error" in line for line in lines) == 1


def test_routes_of_the_new_readers_are_recorded() -> None:
    done = run_child(["extract", "--jsonl", str(GENERIC / "related-tail.html")])
    flags = json.loads(done.stdout)["flags"]
    assert "authors:markup" in flags  # span.author.vcard, not the "admin" of meta author
    assert "published:time" in flags
