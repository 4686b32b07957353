"""What changed between two versions of a story, word by word.

English is compared a word at a time and Chinese, Japanese and Korean a character at a
time: a publisher changing 1,200 to 12,000 shows as that number replaced, and 商品1200件
becoming 商品12000件 as the number alone, not the whole sentence. A number is one token
("1,200", "3.2"), so a changed figure reads as old figure then new figure rather than as
digits scattered through it.

difflib.SequenceMatcher is quadratic on long sequences of repeated tokens (every space
of an English text matches every other), and bodies reach 100,000 characters. So a body
is aligned line by line first, then sentence by sentence inside the lines that differ,
and only the sentences that still differ are compared word by word. The whole
comparison draws on a fixed budget of matcher steps, past which it settles for "all of
this was replaced". The result is always exact ("".join of the equal and deleted runs is the old
text, of the equal and inserted runs the new), only coarser when the budget runs out.

Rendering strips control characters and bidi marks from the texts first (see
`ipnews.formats.safe`): the only escape sequences in `render_terminal`'s output are the
colours it adds.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import Match, SequenceMatcher
from typing import Any

from ipnews.article import CJK, CONTROLS, LazyPattern
from ipnews.formats import safe

EQUAL, INSERT, DELETE = "equal", "insert", "delete"


@dataclass(frozen=True)
class Change:
    op: str  # EQUAL, INSERT or DELETE; a replacement is a DELETE then an INSERT
    text: str


@dataclass(frozen=True)
class FieldDiff:
    field: str
    changes: list[Change]

    @property
    def changed(self) -> bool:
        return any(c.op != EQUAL for c in self.changes)


# A word: letters and digits of the scripts written with spaces, plus the apostrophe of
# "don't" and the separators inside a number ("1,200", "3.2") so that a changed figure is
# one token. Python's \w includes Han, kana and hangul, which must go one character at a
# time, hence the class subtracting them (CJK's ranges, from article.py, so both agree).
_CJK_RANGES = CJK.pattern[1:-1]
_WORD_CHAR = rf"[^\W{_CJK_RANGES}]"
_TOKEN = LazyPattern(
    rf"(?s){CJK.pattern}"
    rf"|{_WORD_CHAR}+(?:(?:['’]|(?<=\d)[.,](?=\d)){_WORD_CHAR}+)*"
    r"|\s+"
    r"|."  # any other character (punctuation, symbols) alone: nothing is skipped
)

# A line with the blank lines after it: a paragraph of a body is one unit, and the blank
# lines, as many as the paragraphs, do not become the commonest unit for the matcher.
_LINE = re.compile(r"[^\n]*\n(?:[^\S\n]*\n)*|[^\n]+")
# A sentence ends at its terminator and the spaces after it. Splitting a number like "3.2"
# in two here does no harm: sentences only narrow what the word diff is given.
_SENTENCE = re.compile(r"[^.!?。！？；;]*(?:[.!?。！？；;]+\s*|$)")
# A blank line, whatever spaces it holds: where one paragraph of a body ends.
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")

# More tokens than this between the common start and end of a pair, on either side, and
# the pair is shown as deleted and inserted whole: a difference that large in one sentence
# is a different document rather than an edit, its word diff could cost seconds (the
# matcher is quadratic) and would show nothing a reader could follow.
MAX_TOKENS = 20_000
# Steps of SequenceMatcher's inner loop allowed for one text; `_Matcher` counts them. At
# about 0.1 us a step on a 2020s CPU that is a third of a second at worst; a hundred
# kilobytes of news with a few dozen scattered edits takes a few thousand.
BUDGET = 3_000_000
# What a call of find_longest_match costs beyond its inner loop, in steps of that loop:
# a story rewritten at every other word makes a great many short calls.
_CALL = 50
# A replaced block of as many lines (or sentences) on both sides and longer than this is
# compared line by line (a story whose every paragraph was touched), not as one text.
_PAIRWISE_ABOVE = 4_000


def tokens(text: str) -> list[str]:
    """The words of text with the spaces and punctuation between them as their own tokens,
    each Han, kana or hangul character a token: "".join(tokens(text)) == text."""
    return _TOKEN.findall(text)


class _OverBudget(Exception):
    pass


class _Budget:
    __slots__ = ("left",)

    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise _OverBudget


class _Matcher(SequenceMatcher[str]):
    """A SequenceMatcher that charges each search for a matching block to a budget before
    making it. The charge is what that search's inner loop can take at most: for each
    element of a's range, its positions in b before the range's end."""

    def __init__(self, a: Sequence[str], b: Sequence[str], autojunk: bool,
                 budget: _Budget) -> None:
        self._budget = budget
        super().__init__(None, a, b, autojunk=autojunk)

    def find_longest_match(self, alo: int = 0, ahi: int | None = None, blo: int = 0,
                           bhi: int | None = None) -> Match:
        ahi = len(self.a) if ahi is None else ahi
        bhi = len(self.b) if bhi is None else bhi
        b2j = self.b2j  # element -> its positions in b, without the junk and popular ones
        # The call itself, and the counting below, which costs what the range holds.
        self._budget.spend(_CALL + ahi - alo)
        # The inner loop walks the positions of a[i] in b up to bhi (it skips those before
        # blo one by one, and stops at bhi).
        self._budget.spend(sum(bisect.bisect_left(b2j.get(x, ()), bhi)
                               for x in self.a[alo:ahi]))
        return super().find_longest_match(alo, ahi, blo, bhi)


_Opcode = tuple[str, int, int, int, int]


def _align(a: list[str], b: list[str], budget: _Budget,
           limit: int | None = None) -> list[_Opcode]:
    """SequenceMatcher's opcodes for a and b. When the budget cannot pay for them, or what
    lies between the common start and end holds more than limit elements on either side,
    that part is one replacement."""
    # Most edits leave the start and the end alone; trimming them is exact and linear.
    n = min(len(a), len(b))
    head = 0
    while head < n and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    mid_a, mid_b = a[head:len(a) - tail], b[head:len(b) - tail]
    ops: list[_Opcode] | None = None
    if not mid_a or not mid_b:
        ops = [(DELETE, 0, len(mid_a), 0, 0)] if mid_a else [(INSERT, 0, 0, 0, len(mid_b))]
    elif limit is None or max(len(mid_a), len(mid_b)) <= limit:
        # autojunk=False first: with it, difflib ignores every token in more than 1% of a
        # long text ("the", a space, 的), and the alignment it finds can be absurd. That
        # search may take half of what is left; past it, the junk-ignoring one (far
        # cheaper on long texts) may take the rest.
        for autojunk in (False, True):
            # Building the matcher's index of b, as a search's worth of steps.
            budget.left -= len(mid_a) + len(mid_b) + _CALL
            if budget.left <= 0:
                break
            allowance = budget.left if autojunk else budget.left // 2
            trial = _Budget(allowance)
            try:
                ops = _Matcher(mid_a, mid_b, autojunk, trial).get_opcodes()
            except _OverBudget:
                ops = None
            budget.left -= min(allowance - trial.left, allowance)
            if ops is not None:
                break
    if ops is None:
        ops = [("replace", 0, len(mid_a), 0, len(mid_b))]
    shifted: list[_Opcode] = [(EQUAL, 0, head, 0, head)] if head else []
    shifted += [(tag, i1 + head, i2 + head, j1 + head, j2 + head)
                for tag, i1, i2, j1, j2 in ops]
    if tail:
        shifted.append((EQUAL, len(a) - tail, len(a), len(b) - tail, len(b)))
    return shifted


def _lines(text: str) -> list[str]:
    return _LINE.findall(text)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.findall(text) if s]


# Coarse to fine; the last is the word diff.
_LEVELS: tuple[Callable[[str], list[str]], ...] = (_lines, _sentences, tokens)


# (op, text): a Change without a dataclass's construction cost, for the runs in between.
_Run = tuple[str, str]


def _diff(a: str, b: str, level: int, budget: _Budget, out: list[_Run]) -> None:
    if a == b:
        out.append((EQUAL, a))
        return
    if not a or not b:
        out.append((DELETE, a) if a else (INSERT, b))
        return
    final = level == len(_LEVELS) - 1
    ua, ub = _LEVELS[level](a), _LEVELS[level](b)
    if not final and len(ua) == 1 and len(ub) == 1:
        _diff(a, b, level + 1, budget, out)  # nothing to align at this level
        return
    for tag, i1, i2, j1, j2 in _align(ua, ub, budget, MAX_TOKENS if final else None):
        old, new = "".join(ua[i1:i2]), "".join(ub[j1:j2])
        if tag == EQUAL:
            out.append((EQUAL, old))
        elif tag == DELETE:
            out.append((DELETE, old))
        elif tag == INSERT:
            out.append((INSERT, new))
        elif final:
            out += [(DELETE, old), (INSERT, new)]
        elif i2 - i1 == j2 - j1 > 1 and len(old) + len(new) > _PAIRWISE_ABOVE:
            # Each line (sentence) edited in place: the natural pairing, and one small
            # diff per line instead of one over the whole block.
            for x, y in zip(ua[i1:i2], ub[j1:j2], strict=True):
                _diff(x, y, level + 1, budget, out)
        else:
            _diff(old, new, level + 1, budget, out)


def _grouped(runs: Iterable[_Run]) -> list[_Run]:
    """Equal runs merged, empty texts dropped, and everything between two equal runs as at
    most one DELETE followed by one INSERT."""
    out: list[_Run] = []
    deleted: list[str] = []
    inserted: list[str] = []
    equal: list[str] = []
    for op, text in runs:
        if not text:
            continue
        if op == EQUAL:
            if deleted:
                out.append((DELETE, "".join(deleted)))
                deleted.clear()
            if inserted:
                out.append((INSERT, "".join(inserted)))
                inserted.clear()
            equal.append(text)
            continue
        if equal:
            out.append((EQUAL, "".join(equal)))
            equal.clear()
        (deleted if op == DELETE else inserted).append(text)
    if deleted:
        out.append((DELETE, "".join(deleted)))
    if inserted:
        out.append((INSERT, "".join(inserted)))
    if equal:
        out.append((EQUAL, "".join(equal)))
    return out


def _canonical(runs: Iterable[_Run]) -> list[_Run]:
    """_grouped, and a space alone between two changes taken into them: a rewritten
    phrase reads [-said Monday-]{+announced Tuesday+}, not as a change per word.
    Line breaks stay where they are: the renderer cuts paragraphs there."""
    grouped = _grouped(runs)
    absorbed: list[_Run] = []
    for i, (op, text) in enumerate(grouped):
        if op == EQUAL and 0 < i < len(grouped) - 1 and text.isspace() and "\n" not in text:
            absorbed += [(DELETE, text), (INSERT, text)]
        else:
            absorbed.append((op, text))
    return _grouped(absorbed) if len(absorbed) > len(grouped) else grouped


def diff_text(old: str, new: str) -> list[Change]:
    """Word diff of two texts (Han, kana and hangul by character). Adjacent runs of one op
    are merged and a replacement is one DELETE then one INSERT; the EQUAL and DELETE texts
    join into old, the EQUAL and INSERT texts into new. Identical texts give one EQUAL run
    (none for two empty texts)."""
    out: list[_Run] = []
    _diff(old, new, 0, _Budget(BUDGET), out)
    return [Change(op, text) for op, text in _canonical(out)]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):  # authors, tags: one per line
        return "\n".join(_as_text(v) for v in value)
    return str(value)


def diff_versions(old: Mapping[str, Any], new: Mapping[str, Any],
                  fields: Sequence[str] = ("title", "summary", "body")) -> list[FieldDiff]:
    """One FieldDiff per field, in the order of fields; a missing or None field is ""."""
    return [FieldDiff(f, diff_text(_as_text(old.get(f)), _as_text(new.get(f))))
            for f in fields]


def _cleaned(changes: list[Change]) -> list[_Run]:
    runs = [(c.op, c.text) for c in changes]
    if not CONTROLS.search("".join(text for _, text in runs)):
        return runs  # the usual case: stored texts are already clean
    # Per run, not on the joined text: the character classes removed are single code
    # points, so nothing can be formed across a run boundary.
    return _canonical((op, safe(text)) for op, text in runs)


_SGR = {DELETE: "\x1b[31m", INSERT: "\x1b[32m"}
# A changed space or newline has no glyph to colour: a background makes it visible.
_SGR_BLANK = {DELETE: "\x1b[41m", INSERT: "\x1b[42m"}
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"
_PLAIN = {DELETE: ("[-", "-]"), INSERT: ("{+", "+}")}


def _mark(op: str, text: str, color: bool) -> str:
    if op == EQUAL:
        return text
    if not color:
        start, end = _PLAIN[op]
        return start + text + end
    sgr = (_SGR_BLANK if text.isspace() else _SGR)[op]
    # Colour each line on its own: pagers (less -R) and terminals that redraw a line
    # lose an attribute carried over a newline.
    return "\n".join(sgr + line + _RESET if line else line for line in text.split("\n"))


def _paragraphs(runs: list[_Run]) -> list[tuple[list[_Run], bool]]:
    """The runs cut at the blank lines of the text they make up (old and new runs
    together), each paragraph with whether it changed or the blank line beside it did."""
    text = "".join(t for _, t in runs)
    starts = [0]
    for _, t in runs:
        starts.append(starts[-1] + len(t))

    def clip(lo: int, hi: int) -> list[_Run]:
        pieces = []
        k = max(bisect.bisect_right(starts, lo) - 1, 0)
        while k < len(runs) and starts[k] < hi:
            piece = text[max(lo, starts[k]):min(hi, starts[k + 1])]
            if piece:
                pieces.append((runs[k][0], piece))
            k += 1
        return pieces

    bodies: list[list[_Run]] = []
    breaks: list[set[str]] = []  # the ops of the text of each blank line
    pos = 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        bodies.append(clip(pos, m.start()))
        breaks.append({op for op, _ in clip(m.start(), m.end())})
        pos = m.end()
    bodies.append(clip(pos, len(text)))
    flags = [any(op != EQUAL for op, _ in body) for body in bodies]

    def all_of(body: list[_Run], op: str) -> bool:
        return bool(body) and all(o == op for o, _ in body)

    for i, ops in enumerate(breaks):
        if ops == {EQUAL}:
            continue
        # The blank line of a paragraph inserted or deleted whole is part of it; any other
        # change there joined or split paragraphs, and both sides show it.
        op = next(iter(ops)) if len(ops) == 1 else ""
        if op and (all_of(bodies[i], op) or all_of(bodies[i + 1], op)):
            continue
        flags[i] = flags[i + 1] = True
    return list(zip(bodies, flags, strict=True))


def _near(flags: list[bool], context: int) -> list[bool]:
    """Whether each position is at most context positions from a flagged one."""
    near = [False] * len(flags)
    for order in (range(len(flags)), range(len(flags) - 1, -1, -1)):
        last = None
        for i in order:
            if flags[i]:
                last = i
            if last is not None and abs(i - last) <= context:
                near[i] = True
    return near


def _elided(count: int) -> str:
    return f"… {count} unchanged paragraph{'s' if count != 1 else ''} …"


def _render_field(diff: FieldDiff, color: bool, context: int) -> str:
    runs = _cleaned(diff.changes)
    name = safe(diff.field, one_line=True)
    header = f"{_BOLD}{name}:{_RESET}" if color else f"{name}:"
    if all(op == EQUAL for op, _ in runs):
        # The versions differ only in characters this renderer never prints.
        return f"{header} (only invisible characters changed)"
    paragraphs = _paragraphs(runs)
    shown = _near([changed for _, changed in paragraphs], context)
    blocks: list[str] = []
    hidden = 0
    for (pieces, _), show in zip(paragraphs, shown, strict=True):
        if not show:
            hidden += 1
            continue
        if hidden:
            blocks.append(_elided(hidden))
            hidden = 0
        blocks.append("".join(_mark(op, text, color) for op, text in pieces))
    if hidden:
        blocks.append(_elided(hidden))
    if len(paragraphs) == 1 and "\n" not in blocks[0]:
        return f"{header} {blocks[0]}"
    return header + "\n" + "\n\n".join(blocks)


def render_terminal(diffs: list[FieldDiff], color: bool, context: int = 1) -> str:
    """The changed fields for people, without a final newline. color: deletions red and
    insertions green (ANSI SGR); without, git's --word-diff=plain: [-deleted-] and
    {+inserted+}. Paragraphs more than `context` paragraphs away from a change are
    summed up as "… N unchanged paragraphs …". One line when nothing changed."""
    context = max(context, 0)
    fields = [_render_field(d, color, context) for d in diffs if d.changed]
    return "\n\n".join(fields) if fields else "No changes."


def to_json(diffs: list[FieldDiff]) -> list[dict[str, Any]]:
    """The changed fields for programs: [{"field", "changes": [{"op", "text"}, ...]}], every
    run whole. Texts lose control characters and bidi marks as everywhere ipnews prints;
    stored texts have none (article.clean removes the same set), so for them the runs
    still join into the two versions. A field whose only change was such characters
    keeps its entry, with equal runs alone."""
    return [{"field": d.field,
             "changes": [{"op": op, "text": text} for op, text in _cleaned(d.changes)]}
            for d in diffs if d.changed]
