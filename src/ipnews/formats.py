"""One renderer per output format. Every string is cleaned of control characters on the
way out, so nothing stored or computed can move a terminal's cursor or retitle its window."""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

from ipnews.article import CONTROLS

# One-line cells (tables, CSV headers) also lose newlines and tabs.
_LINE_BREAKS = re.compile("[\t\n\r]")


def safe(value: Any, one_line: bool = False) -> Any:
    if isinstance(value, str):
        value = CONTROLS.sub("", value)
        return _LINE_BREAKS.sub(" ", value) if one_line else value
    if isinstance(value, list):
        return [safe(v, one_line) for v in value]
    if isinstance(value, dict):
        return {k: safe(v, one_line) for k, v in value.items()}
    return value


def select(rows: Iterable[dict[str, Any]], fields: list[str] | None) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield {f: row.get(f) for f in fields} if fields else row


def render(rows: Iterable[dict[str, Any]], fmt: str, out: IO[str],
           columns: list[str] | None = None, widths: dict[str, int] | None = None,
           header: list[str] | None = None) -> None:
    """Write rows in fmt. json is one array (``[]`` when empty), streamed row by row."""
    if fmt == "json":
        out.write("[")
        empty = True
        for row in rows:
            out.write(("\n" if empty else ",\n") + json.dumps(safe(row), ensure_ascii=False))
            empty = False
        out.write("]\n" if empty else "\n]\n")
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(safe(row), ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
                writer.writeheader()
            writer.writerow({k: _cell(v) for k, v in safe(row).items()})
        if writer is None and header:  # no rows: the header still says what would come
            csv.writer(out, lineterminator="\n").writerow(header)
    else:
        _table(list(rows), out, columns, widths or {})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"title", "url"}:  # an attachment: what a reader wants to see
            return f"{value['title']} <{value['url']}>"
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _width(text: str) -> int:
    # East Asian wide characters take two terminal cells.
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _clip(text: str, width: int) -> str:
    if _width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = _width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def terminal_columns(fallback: int = 120) -> int:
    """The terminal's width as shutil.get_terminal_size() gives it ($COLUMNS first), without
    importing shutil: it loads the compression modules, 2 ms of every `ipnews search`."""
    try:
        columns = int(os.environ.get("COLUMNS", 0))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else fallback


def _table(rows: list[dict[str, Any]], out: IO[str], columns: list[str] | None,
           widths: dict[str, int]) -> None:
    if not rows:
        return
    cols = columns or list(rows[0])
    cells = [[safe(_cell(r.get(c)), one_line=True) for c in cols] for r in rows]
    total = terminal_columns()
    sizes = []
    for i, c in enumerate(cols):
        natural = max([_width(c), *(_width(row[i]) for row in cells)])
        sizes.append(min(natural, widths.get(c, 10_000)))
    # Shrink the widest column until the table fits the terminal.
    while sum(sizes) + 2 * (len(sizes) - 1) > total and max(sizes) > 12:
        sizes[sizes.index(max(sizes))] -= 1
    def line(values: list[str]) -> str:
        return "  ".join(_clip(v, s) + " " * (s - _width(_clip(v, s)))
                         for v, s in zip(values, sizes, strict=True)).rstrip()
    out.write(line(cols) + "\n")
    out.write(line(["-" * s for s in sizes]) + "\n")
    for row in cells:
        out.write(line(row) + "\n")


def _copy_line(copy: dict[str, Any]) -> str:
    """Another outlet's copy of a story, and how it differs, on one line."""
    line = f"#{copy['id']} {copy['source']} {(copy.get('published_at') or '')[:10]}"
    differs = copy.get("differs")
    if differs:
        what = [f"+{differs['words_added']}/-{differs['words_removed']} words"]
        if differs["title"]:
            what.insert(0, "own headline")
        line += " (" + ", ".join(what) + ")"
    return line


def render_record(record: dict[str, Any], out: IO[str]) -> None:
    """One record for people: key: value lines, then the body as paragraphs."""
    body = record.get("body")
    for key, value in record.items():
        if key == "body":
            continue
        if key == "versions" and isinstance(value, list):
            value = ", ".join(f"v{v['version']} {v['captured_at']}" for v in value)
        elif key == "copies" and isinstance(value, list):
            value = "; ".join(_copy_line(c) for c in value) or "none"
        elif key == "entities" and isinstance(value, list):
            value = "; ".join(f"{e['kind']} {e['label']}" for e in value)
        out.write(f"{key + ':':<14} {safe(_cell(value), one_line=True)}\n")
    if body:
        out.write("\n" + safe(body) + "\n")
