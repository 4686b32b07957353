"""One story, many copies: near-duplicate articles, found by MinHash over shingles and kept
apart by their facts.

The same Xinhua story reaches the archive through SHINE, China Daily, Global Times and
People's Daily with small edits: a dateline, "U.S." for "US", a trimmed paragraph, a new
headline. Each copy stays an article of its source; the copies share a story id.

- Text -> shingles: word 3-grams of the English text, character 4-grams of the Chinese,
  lower-cased, "U.S." read as "US", digits without their thousands separators. Only the
  body: outlets rewrite headlines, and a headline alone is not a story.
- Shingles -> a 128-value MinHash signature (rensa, a Rust MinHash measured at 0.26 ms an
  article against datasketch's 2 ms and trafilatura's simhash 22-25 ms; it has no
  dependencies and states its algorithm's version, which the archive records), cut into
  32 bands of 4 values. Articles that share a band are candidates (pairs at Jaccard 0.5
  are found 87% of the time, at 0.6 99%); the store keeps the band keys in an index, so a
  new article costs a few index lookups whatever the size of the archive.
- A candidate is the same story when the estimated containment of the shorter text in
  the longer is at least SAME (a trimmed copy is contained in the whole one) and the
  guard finds no fact that differs.
- The guard: numbers and capitalised names, each keyed by the word just before it and the
  word just after it (for Chinese, the character), and the case, patent and trademark
  numbers, customs districts and courts that entities.py finds. For a key both texts
  have, one text's values must include the other's: a trimmed copy has fewer values, an
  edit that adds a sentence more, but "seized 1,200 pairs" against "seized 12,000 pairs",
  or Shanghai customs against Ningbo customs, have a value each that the other lacks.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ipnews.article import CJK

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SEED = 20241116
WORD_SHINGLE = 3
CJK_SHINGLE = 4
MIN_SHINGLES = 12  # fewer: a caption or a notice, too little to call two texts one story
SAME = 0.75  # estimated containment of the shorter text in the longer
MAX_TEXT = 100_000  # characters of a body read: a longer one is not a wire story's copy

# The token stream: words, numbers (with their separators) and single CJK characters. One
# alternation of simple classes: linear on any input.
_TOKEN = re.compile(
    r"[A-Za-z\u00c0-\u024f]+|\d+(?:[.,]\d+)*|"
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_INITIAL_DOT = re.compile(r"\b([A-Za-z])\.(?=[A-Za-z]\b)")  # U.S. -> US, U.K. -> UK
# Capitalised words that say nothing about who or where.
_COMMON = frozenset((
    "a", "an", "the", "in", "on", "at", "of", "for", "to", "by", "and", "but", "or", "as",
    "it", "its", "this", "that", "these", "those", "he", "she", "they", "we", "i", "his",
    "her", "their", "our", "from", "with", "after", "before", "when", "while", "since",
    "during", "under", "over", "about", "according", "also", "meanwhile", "however", "mr",
    "ms", "mrs", "dr", "no", "not"))
# Entity kinds whose values are facts: two stories about different cases, patents, marks,
# customs districts or courts are two stories.
_ENTITY_FACTS = ("case", "patent", "trademark")
_ENTITY_PREFIXES = ("customs-", "court-")


def scheme() -> str:
    """What a stored signature was made with: a different scheme means a rebuild."""
    from rensa import RMinHash

    return (f"rensa-a{RMinHash.ALGORITHM_VERSION}-p{NUM_PERM}-b{BANDS}-w{WORD_SHINGLE}"
            f"-c{CJK_SHINGLE}-s{SEED}-v1")


@dataclass(frozen=True)
class Fingerprint:
    signature: tuple[int, ...]
    size: int  # shingles
    bands: tuple[int, ...]  # one key per band, the band's number folded in
    facts: dict[str, list[str]] = field(default_factory=dict)

    def facts_json(self) -> str:
        return json.dumps(self.facts, ensure_ascii=False, sort_keys=True)


def _is_cjk(token: str) -> bool:
    return len(token) == 1 and CJK.match(token) is not None


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT])
    text = _INITIAL_DOT.sub(r"\1", text)
    return _TOKEN.findall(text)


def _number(token: str) -> str | None:
    """A number token as a value: thousands separators gone, a decimal point kept."""
    if not token[0].isdigit():
        return None
    if "," in token:
        head, *groups = token.split(",")
        if all(len(g) == 3 for g in groups):
            token = head + "".join(groups)
    return token


def shingles(tokens: list[str]) -> set[str]:
    words = [t.lower() if not t[0].isdigit() else (_number(t) or t)
             for t in tokens if not _is_cjk(t)]
    chars = [t for t in tokens if _is_cjk(t)]
    out = {" ".join(words[i:i + WORD_SHINGLE])
           for i in range(len(words) - WORD_SHINGLE + 1)}
    out.update("".join(chars[i:i + CJK_SHINGLE]) for i in range(len(chars) - CJK_SHINGLE + 1))
    return out


def facts(tokens: list[str], entities: Sequence[Any] = ()) -> dict[str, list[str]]:
    """Numbers and names by their one-sided contexts ("<word" before, ">word" after), and
    the identifiers entities.py finds ("=case" ...): the guard's material."""
    out: dict[str, set[str]] = {}
    for i, token in enumerate(tokens):
        if _is_cjk(token):
            continue
        value = _number(token)
        if value is None:
            if not token[0].isupper() or token.lower() in _COMMON:
                continue
            value = token.lower()
        cjk_side = (i > 0 and _is_cjk(tokens[i - 1])) or (
            i + 1 < len(tokens) and _is_cjk(tokens[i + 1]))
        before = tokens[i - 1] if i > 0 else "^"
        after = tokens[i + 1] if i + 1 < len(tokens) else "$"
        # A neighbour that is itself a number or a name is a value, not a context.
        if not cjk_side:
            if before[0].isdigit() or before[0].isupper():
                before = "~"
            if after[0].isdigit() or after[0].isupper():
                after = "~"
        # The text's first and last words are no context: a dateline removed, a paragraph
        # trimmed, and another word is first or last.
        for key in ("<" + before.lower(), ">" + after.lower()):
            if key not in ("<~", ">~", "<^", ">$"):
                out.setdefault(key, set()).add(value)
    for entity in entities:
        if entity.kind in _ENTITY_FACTS or entity.key.startswith(_ENTITY_PREFIXES):
            out.setdefault("=" + entity.kind, set()).add(entity.key)
    return {k: sorted(v) for k, v in out.items()}


def fingerprint(body: str | None, entities: Sequence[Any] | None = None) -> Fingerprint | None:
    """The fingerprint of a story's text, or None when it is too short to compare.
    entities: what entities.extract found in the article, when the caller has it already."""
    from rensa import RMinHash

    tokens = _tokens(body or "")
    found = shingles(tokens)
    if len(found) < MIN_SHINGLES:
        return None
    minhash = RMinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update(sorted(found))
    signature = tuple(minhash.digest())
    if entities is None:
        from ipnews.entities import extract

        entities = extract((body or "")[:MAX_TEXT])
    return Fingerprint(signature, len(found), band_keys(signature), facts(tokens, entities))


def band_keys(signature: tuple[int, ...]) -> tuple[int, ...]:
    """One signed 64-bit key per band (SQLite's INTEGER): blake2b of the band's number and
    values, stable across processes and Python versions, unlike hash()."""
    keys = []
    for band in range(BANDS):
        values = signature[band * ROWS:(band + 1) * ROWS]
        raw = band.to_bytes(1, "big") + b"".join(v.to_bytes(8, "big") for v in values)
        keys.append(int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big",
                                   signed=True))
    return tuple(keys)


def pack(signature: tuple[int, ...]) -> bytes:
    return b"".join(v.to_bytes(8, "big") for v in signature)


def unpack(blob: bytes) -> tuple[int, ...]:
    return tuple(int.from_bytes(blob[i:i + 8], "big") for i in range(0, len(blob), 8))


def jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of two texts' shingles."""
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def containment(a: tuple[int, ...], size_a: int, b: tuple[int, ...], size_b: int) -> float:
    """Estimated share of the shorter text's shingles found in the longer one's."""
    j = jaccard(a, b)
    shared = j * (size_a + size_b) / (1 + j)
    return min(1.0, shared / min(size_a, size_b))


def conflicts(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The keys where the two texts state different facts (see the module's docstring)."""
    out = []
    for key in a.keys() & b.keys():
        va, vb = set(a[key]), set(b[key])
        if not (va <= vb or vb <= va):
            out.append(key)
    return out


@dataclass(frozen=True)
class Candidate:
    article_id: int
    story_id: int
    signature: tuple[int, ...]
    size: int
    facts: dict[str, Any]


def choose_story(new: Fingerprint, candidates: list[Candidate]) -> tuple[int, float] | None:
    """The story the new text is a copy of, and how much of it matched: the most similar
    story whose every candidate member is alike enough and at odds with it on no fact.
    None: a story of its own."""
    by_story: dict[int, list[tuple[float, Candidate]]] = {}
    for c in candidates:
        score = containment(new.signature, new.size, c.signature, c.size)
        by_story.setdefault(c.story_id, []).append((score, c))
    ranked = sorted(by_story.items(), key=lambda item: (-max(s for s, _ in item[1]), item[0]))
    for story_id, members in ranked:
        best = max(s for s, _ in members)
        if best < SAME:
            break
        if all(not conflicts(new.facts, c.facts) for _, c in members):
            return story_id, best
    return None
