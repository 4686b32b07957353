"""The word diff of two versions of a story: exact, readable in English and Chinese, bounded
on long and hostile texts, and safe to print."""

from __future__ import annotations

import itertools
import json
import random
import re
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from ipnews import diffing
from ipnews.article import CONTROLS
from ipnews.diffing import (
    Change,
    FieldDiff,
    diff_text,
    diff_versions,
    render_terminal,
    to_json,
    tokens,
)

# The escape sequences render_terminal adds, and only those.
OUR_SGR = re.compile(r"\x1b\[(?:0|1|31|32|41|42)m")


def old_of(changes: list[Change]) -> str:
    return "".join(c.text for c in changes if c.op != "insert")


def new_of(changes: list[Change]) -> str:
    return "".join(c.text for c in changes if c.op != "delete")


def edits(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.op, c.text) for c in changes if c.op != "equal"]


def assert_canonical(changes: list[Change]) -> None:
    """No empty run, no two equal runs in a row, and between two equal runs at most one
    delete followed by at most one insert."""
    assert all(c.text for c in changes)
    assert all(c.op in ("equal", "insert", "delete") for c in changes)
    for x, y in itertools.pairwise(changes):
        assert (x.op, y.op) in {("equal", "delete"), ("equal", "insert"), ("delete", "insert"),
                                ("delete", "equal"), ("insert", "equal")}


def body(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


PARAGRAPHS = [f"Paragraph {i} says that customs officers in port {i} seized fakes." for i in
              range(30)]


# --- tokens -----------------------------------------------------------------------------

def test_tokens_keep_words_numbers_and_split_chinese_by_character():
    assert tokens("Customs seized 1,200 pairs, don't 3.2 million.") == [
        "Customs", " ", "seized", " ", "1,200", " ", "pairs", ",", " ", "don't", " ", "3.2",
        " ", "million", "."]
    assert tokens("海关查获假冒商品1200件。") == [
        "海", "关", "查", "获", "假", "冒", "商", "品", "1200", "件", "。"]
    assert tokens("ソニーの商標 삼성 patent\n\nx") == [
        "ソ", "ニ", "ー", "の", "商", "標", " ", "삼", "성", " ", "patent", "\n\n", "x"]
    assert tokens("") == []


# --- diff_text --------------------------------------------------------------------------

def test_english_word_replaced():
    changes = diff_text("The court upheld the ruling on Monday.",
                        "The court overturned the ruling on Monday.")
    assert edits(changes) == [("delete", "upheld"), ("insert", "overturned")]
    assert changes[0] == Change("equal", "The court ")


def test_english_number_is_one_token():
    changes = diff_text("Customs seized 1,200 pairs of shoes",
                        "Customs seized 12,000 pairs of shoes")
    assert changes == [Change("equal", "Customs seized "), Change("delete", "1,200"),
                       Change("insert", "12,000"), Change("equal", " pairs of shoes")]


def test_chinese_number_change_leaves_the_characters_alone():
    changes = diff_text("海关查获假冒商品1200件", "海关查获假冒商品12000件")
    assert changes == [Change("equal", "海关查获假冒商品"), Change("delete", "1200"),
                       Change("insert", "12000"), Change("equal", "件")]


def test_chinese_characters_compared_one_by_one():
    changes = diff_text("法院判决被告赔偿原告损失", "法院裁定被告赔偿原告经济损失")
    assert edits(changes) == [("delete", "判决"), ("insert", "裁定"), ("insert", "经济")]


def test_mixed_english_and_chinese():
    old = "CNIPA (国家知识产权局) granted 500 patents to Huawei 华为 in 2024."
    new = "CNIPA (国家知识产权局) granted 520 patents to Huawei 华为技术 in 2024."
    changes = diff_text(old, new)
    assert edits(changes) == [("delete", "500"), ("insert", "520"), ("insert", "技术")]
    assert old_of(changes) == old and new_of(changes) == new


def test_identical_and_empty_texts():
    assert diff_text("same text", "same text") == [Change("equal", "same text")]
    assert diff_text("", "") == []
    assert diff_text("", "new") == [Change("insert", "new")]
    assert diff_text("old", "") == [Change("delete", "old")]


def test_inserted_paragraph():
    old = body(*PARAGRAPHS[:5])
    new = body(*PARAGRAPHS[:2], "A new paragraph about 商标.", *PARAGRAPHS[2:5])
    changes = diff_text(old, new)
    assert edits(changes) == [("insert", "A new paragraph about 商标.\n\n")]
    assert new_of(changes) == new


def test_deleted_paragraph():
    old = body(*PARAGRAPHS[:5])
    new = body(*PARAGRAPHS[:3], *PARAGRAPHS[4:5])
    changes = diff_text(old, new)
    assert edits(changes) == [("delete", PARAGRAPHS[3] + "\n\n")]
    assert old_of(changes) == old


def test_paragraph_added_at_the_end():
    changes = diff_text(body(*PARAGRAPHS[:3]), body(*PARAGRAPHS[:4]))
    assert edits(changes) == [("insert", "\n\n" + PARAGRAPHS[3])]


def test_replacement_is_one_delete_then_one_insert():
    changes = diff_text("a b c d", "a x y d")
    assert changes == [Change("equal", "a "), Change("delete", "b c"), Change("insert", "x y"),
                       Change("equal", " d")]
    # A space between two changed words joins them; a word in common does not.
    assert edits(diff_text("officials said Monday", "officials announced Tuesday")) == [
        ("delete", "said Monday"), ("insert", "announced Tuesday")]
    assert edits(diff_text("he said on Monday", "he spoke on Tuesday")) == [
        ("delete", "said"), ("insert", "spoke"), ("delete", "Monday"), ("insert", "Tuesday")]


# --- diff_versions ----------------------------------------------------------------------

def test_diff_versions_one_per_field_missing_and_none_are_empty():
    diffs = diff_versions({"title": "T", "summary": None}, {"title": "T", "body": "B"})
    assert [d.field for d in diffs] == ["title", "summary", "body"]
    assert [d.changed for d in diffs] == [False, False, True]
    assert diffs[2].changes == [Change("insert", "B")]
    assert diff_versions({"x": 1}, {"x": 2}, fields=("x",))[0].changed


def test_title_only_change():
    old = {"title": "Court fines infringer 1 million yuan", "summary": "S", "body": body(
        *PARAGRAPHS)}
    new = dict(old, title="Court fines infringer 5 million yuan")
    diffs = diff_versions(old, new)
    assert [d.field for d in diffs if d.changed] == ["title"]
    text = render_terminal(diffs, color=False)
    assert text == "title: Court fines infringer [-1-]{+5+} million yuan"
    assert [d["field"] for d in to_json(diffs)] == ["title"]


def test_identical_versions():
    version = {"title": "T", "summary": "S", "body": body(*PARAGRAPHS)}
    diffs = diff_versions(version, dict(version))
    assert not any(d.changed for d in diffs)
    assert render_terminal(diffs, color=True) == "No changes."
    assert render_terminal(diffs, color=False) == "No changes."
    assert render_terminal([], color=False) == "No changes."
    assert to_json(diffs) == []


# --- render_terminal --------------------------------------------------------------------

def test_plain_rendering_uses_git_word_diff_markers_and_no_escapes():
    diffs = diff_versions({"title": "Customs seized 1,200 fakes"},
                          {"title": "Customs seized 12,000 fakes"})
    text = render_terminal(diffs, color=False)
    assert text == "title: Customs seized [-1,200-]{+12,000+} fakes"
    assert "\x1b" not in text


def test_color_rendering_red_deletions_green_insertions():
    diffs = diff_versions({"title": "Customs seized 1,200 fakes"},
                          {"title": "Customs seized 12,000 fakes"})
    text = render_terminal(diffs, color=True)
    assert "\x1b[31m1,200\x1b[0m" in text
    assert "\x1b[32m12,000\x1b[0m" in text
    assert "[-" not in text and "{+" not in text
    assert OUR_SGR.sub("", text) == "title: Customs seized 1,20012,000 fakes"


def test_color_changed_whitespace_is_visible_and_color_ends_at_each_line():
    text = render_terminal([FieldDiff("body", diff_text("a b", "a  b"))], color=True)
    assert "\x1b[42m" in text  # a background: an inserted space has no glyph to colour
    multi = render_terminal([FieldDiff("body", diff_text("x", "x y\nz"))], color=True)
    assert "\x1b[32m y\x1b[0m\n\x1b[32mz\x1b[0m" in multi


def test_context_elides_unchanged_paragraphs():
    old = {"body": body(*PARAGRAPHS)}
    new = {"body": body(*PARAGRAPHS[:15], PARAGRAPHS[15].replace("fakes", "counterfeits"),
                        *PARAGRAPHS[16:])}
    diffs = diff_versions(old, new)
    text = render_terminal(diffs, color=False)
    assert text.split("\n\n") == [
        "body:\n… 14 unchanged paragraphs …",
        PARAGRAPHS[14],
        PARAGRAPHS[15].replace("fakes", "[-fakes-]{+counterfeits+}"),
        PARAGRAPHS[16],
        "… 13 unchanged paragraphs …",
    ]
    none = render_terminal(diffs, color=False, context=0).split("\n\n")
    assert none[0] == "body:\n… 15 unchanged paragraphs …" and none[2] == (
        "… 14 unchanged paragraphs …")
    assert len(render_terminal(diffs, color=False, context=2).split("\n\n")) == 7
    everything = render_terminal(diffs, color=False, context=100)
    assert "unchanged" not in everything and PARAGRAPHS[0] in everything


def test_context_singular_and_two_changes_sharing_context():
    old = {"body": body(*PARAGRAPHS[:6])}
    new = {"body": body("Changed 0.", *PARAGRAPHS[1:3], "Changed 3.", *PARAGRAPHS[4:6])}
    text = render_terminal(diff_versions(old, new), color=False)
    blocks = text.split("\n\n")
    assert blocks[-1] == "… 1 unchanged paragraph …"
    assert PARAGRAPHS[1] in text and PARAGRAPHS[2] in text and PARAGRAPHS[4] in text


def test_inserted_and_deleted_paragraphs_render_as_their_own_paragraphs():
    old = {"body": body(*PARAGRAPHS[:9])}
    new = {"body": body(*PARAGRAPHS[:3], *PARAGRAPHS[4:6], "Brand new.", *PARAGRAPHS[6:9])}
    text = render_terminal(diff_versions(old, new), color=False)
    blocks = text.split("\n\n")
    assert f"[-{PARAGRAPHS[3]}-]" in blocks
    assert "{+Brand new.+}" in blocks
    # The blank line around a whole inserted or deleted paragraph is not itself a change
    # that would pull the paragraphs beside it into view.
    assert PARAGRAPHS[0] not in text and PARAGRAPHS[8] not in text


def test_split_paragraph_shows_both_halves():
    old = {"body": body(*PARAGRAPHS[:3], "First half. Second half.", *PARAGRAPHS[3:6])}
    new = {"body": body(*PARAGRAPHS[:3], "First half.\n\nSecond half.", *PARAGRAPHS[3:6])}
    text = render_terminal(diff_versions(old, new), color=False, context=0)
    assert "First half.[- -]" in text and "Second half." in text


def test_fields_in_order_with_headers():
    old = {"title": "Old title", "summary": "Same", "body": body("One.", "Two.")}
    new = {"title": "New title", "summary": "Same", "body": body("One.", "Two!")}
    text = render_terminal(diff_versions(old, new), color=False)
    assert text == "title: [-Old-]{+New+} title\n\nbody:\nOne.\n\nTwo[-.-]{+!+}"
    bold = render_terminal(diff_versions(old, new), color=True)
    assert bold.startswith("\x1b[1mtitle:\x1b[0m ")


# --- to_json ----------------------------------------------------------------------------

def test_json_shape_only_changed_fields_runs_kept_whole():
    long_equal = body(*PARAGRAPHS)
    old = {"title": "T", "summary": "S", "body": long_equal + "\n\nEnd 1."}
    new = {"title": "T", "summary": "S", "body": long_equal + "\n\nEnd 2."}
    out = to_json(diff_versions(old, new))
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out
    assert out == [{"field": "body", "changes": [
        {"op": "equal", "text": long_equal + "\n\nEnd "},
        {"op": "delete", "text": "1"},
        {"op": "insert", "text": "2"},
        {"op": "equal", "text": "."},
    ]}]


# --- hostile input ----------------------------------------------------------------------

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\r\x08\x9b31m\u202eevil\u202c\u2066x\u2069\u200f\ufeff"


def test_control_characters_and_bidi_marks_never_reach_the_output():
    old = {"title": "Court ruling" + HOSTILE, "body": body("Safe.", "Body " + HOSTILE)}
    new = {"title": "Court ruling\x1b[31m" + HOSTILE + "!", "body": body(
        "Safe.", "Body " + HOSTILE + "\u202d more")}
    diffs = diff_versions(old, new)
    for color in (True, False):
        text = render_terminal(diffs, color=color)
        assert not CONTROLS.search(OUR_SGR.sub("", text)), repr(text)
        assert "pwned" in text and "evil" in text  # the visible text itself stays
    for field in to_json(diffs):
        for change in field["changes"]:
            assert not CONTROLS.search(change["text"])


def test_a_change_of_invisible_characters_only_says_so():
    diffs = diff_versions({"title": "Title"}, {"title": "Title\u202e\x1b"})
    assert diffs[0].changed
    assert render_terminal(diffs, color=False) == (
        "title: (only invisible characters changed)")


def scattered_body(seed: int, size: int = 100_000) -> tuple[str, str]:
    """About size characters of English and Chinese paragraphs, and a copy with a dozen
    words changed, a paragraph deleted and one inserted."""
    rng = random.Random(seed)
    words = ["customs", "seized", "counterfeit", "goods", "court", "patent", "the", "of",
             "1,200", "海关", "查获", "假冒", "商品", "知识产权", "法院", "判决"]
    paragraphs = []
    while sum(map(len, paragraphs)) < size:
        paragraphs.append(" ".join(rng.choice(words) for _ in range(rng.randint(20, 80)))
                          + f" ({len(paragraphs)}).")
    old = body(*paragraphs)[:size]
    changed = old.split("\n\n")
    for _ in range(12):
        i = rng.randrange(len(changed))
        changed[i] = changed[i].replace(" the ", " a ", 1).replace("1,200", "12,000", 1)
    del changed[rng.randrange(len(changed))]
    changed.insert(rng.randrange(len(changed)), "An inserted paragraph 新增段落.")
    return old, body(*changed)


def test_a_100kb_body_with_scattered_edits_is_diffed_word_by_word():
    old, new = scattered_body(1)
    assert len(old) == 100_000
    changes = diff_text(old, new)
    assert old_of(changes) == old and new_of(changes) == new
    assert_canonical(changes)
    changed = sum(len(c.text) for c in changes if c.op != "equal")
    assert changed < 2_000  # words and two paragraphs, not the body replaced whole
    text = render_terminal(diff_versions({"body": old}, {"body": new}), color=True)
    assert "unchanged paragraphs" in text


def test_pathological_bodies_still_give_an_exact_answer():
    cases = [
        ("a\n\n" * 33_000, "b\n\n" + "a\n\n" * 33_000),  # one paragraph, repeated
        ("a " * 50_000, "a " * 25_000 + "b " + "a " * 25_000),  # one token, repeated
        ("的" * 100_000, "的" * 50_000 + "了" + "的" * 50_000),
        ("x y " * 30_000, "y x " * 30_000),  # every token the same few, all moved
    ]
    rng = random.Random(2)
    cases.append(("".join(rng.choice("ab c\n") for _ in range(100_000)),
                  "".join(rng.choice("ab c\n") for _ in range(100_000))))
    for old, new in cases:
        changes = diff_text(old, new)
        assert old_of(changes) == old and new_of(changes) == new
        assert_canonical(changes)
    first = diff_text(*cases[0][:2])
    assert edits(first) == [("insert", "b\n\n")]
    assert edits(diff_text(*cases[2][:2])) == [("insert", "了")]


def test_past_the_budget_or_the_token_cap_a_pair_is_replaced_whole():
    old, new = "one two three four five", "one two 3 four five"
    with patch.object(diffing, "MAX_TOKENS", 0):
        assert edits(diff_text(old, new)) == [("delete", "three"), ("insert", "3")]
    with patch.object(diffing, "BUDGET", 0):
        changes = diff_text("a b c d e f", "a x c y e f")
        assert old_of(changes) == "a b c d e f" and new_of(changes) == "a x c y e f"
        assert edits(changes) == [("delete", "b c d"), ("insert", "x c y")]


# --- properties -------------------------------------------------------------------------

# Text that exercises every path: English words, numbers, Chinese and Japanese characters,
# punctuation of both, spaces, newlines and paragraph breaks, and anything else at all.
SAMPLES = ["a", "b", "the", " ", "  ", "\n", "\n\n", ",", ".", "。", "，", "！", "1", "2", "'",
           "海", "关", "商", "品", "の", "한", "\t", "\u3000"]
texts = st.lists(st.one_of(st.sampled_from(SAMPLES), st.characters()), max_size=60).map(
    "".join)


@st.composite
def edited(draw: st.DrawFn) -> tuple[str, str]:
    """A text and an edit of it: spans of it replaced by other text."""
    old = draw(texts)
    new = old
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(new)))
        j = draw(st.integers(i, min(len(new), i + 8)))
        new = new[:i] + draw(texts) + new[j:]
    return old, new


@settings(max_examples=300, deadline=None)
@given(texts)
def test_property_tokens_rebuild_the_text(text):
    found = tokens(text)
    assert "".join(found) == text
    assert all(found)
    for token in found:
        if diffing.CJK.search(token):
            assert len(token) == 1


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.tuples(texts, texts), edited()))
def test_property_diff_rebuilds_both_versions(pair):
    old, new = pair
    changes = diff_text(old, new)
    assert old_of(changes) == old
    assert new_of(changes) == new
    assert_canonical(changes)
    if old == new:
        assert all(c.op == "equal" for c in changes)


@settings(max_examples=150, deadline=None)
@given(edited())
def test_property_fallbacks_rebuild_both_versions(pair):
    old, new = pair
    with patch.object(diffing, "MAX_TOKENS", 3), patch.object(diffing, "BUDGET", 20):
        changes = diff_text(old, new)
    assert old_of(changes) == old and new_of(changes) == new
    assert_canonical(changes)


@settings(max_examples=150, deadline=None)
@given(edited(), edited(), st.booleans(), st.integers(0, 3))
def test_property_rendering_prints_no_control_characters(title, text, color, context):
    diffs = diff_versions({"title": title[0], "body": text[0]},
                          {"title": title[1], "body": text[1]})
    out = render_terminal(diffs, color=color, context=context)
    rest = OUR_SGR.sub("", out) if color else out
    assert not CONTROLS.search(rest)
    if not color:
        assert "\x1b" not in out
    if not any(d.changed for d in diffs):
        assert out == "No changes."
