"""Datasette, pleasant out of the box on an ipnews archive (`pip install 'ipnews[datasette]'`,
then `datasette ipnews.db`). Registered through the "datasette" entry point; ipnews never
imports it.

- The search box of a table (Datasette's own `escape_fts`) reads a query as `ipnews
  search` does: word forms, Chinese terms of any length from the pairs columns, and the
  glossary's other language (customs finds 海关).
- A canned query, `search`, ranks by relevance (bm25) and shows a snippet with the match
  highlighted; `stories` (a view the migration makes) is the readable list of articles,
  with facets on source, topic, language and year; the entities table with facets on kind
  and label.
- Long cells (the text, the hashes, the pairs columns) are kept to one line.
"""

from __future__ import annotations

import html
from typing import Any

from datasette import hookimpl
from markupsafe import Markup

from ipnews.glossary import expansions
from ipnews.store import build_query, make_snippet

_GLOSSARY = expansions()
CSS = ("td.col-body, td.col-body_hash, td.col-content_hash, td.col-zh_title, td.col-zh_text,"
       " td.col-flags { max-width: 24em; overflow: hidden; white-space: nowrap; "
       "text-overflow: ellipsis; } td.col-title { min-width: 18em; } "
       "td.col-snippet { min-width: 28em; }")

SEARCH_SQL = """select a.id, a.published_at, a.source, a.title,
  ipnews_snippet(highlight(articles_fts, 0, char(2), char(3)),
                 highlight(articles_fts, 1, char(2), char(3)),
                 highlight(articles_fts, 2, char(2), char(3)), :q) as snippet,
  a.topics, a.url
from articles_fts join articles a on a.id = articles_fts.rowid
where articles_fts match ipnews_fts(:q)
order by rank limit 50"""


def fts_query(text: str) -> str:
    """The FTS5 query `ipnews search` would run for text (glossary on). A lone Chinese
    character, which ipnews finds by a scan, is searched as a whole token here."""
    try:
        query = build_query(text, glossary=_GLOSSARY)
    except Exception:  # a usage error: a query that matches nothing, never an error page
        return '""'
    parts = [query.fts] if query.fts else []
    parts += [f'"{term}"' for term in query.like]
    return " ".join(parts) or '""'


def snippet(title: str | None, summary: str | None, body: str | None, text: str) -> str:
    """The snippet `ipnews search` prints, for the canned query (the ** marks kept)."""
    try:
        terms = build_query(text, glossary=_GLOSSARY)
    except Exception:
        return make_snippet(title, summary, body)
    return make_snippet(title, summary, body, terms.cjk + terms.like)


@hookimpl(trylast=True)  # after Datasette's own escape_fts: this one replaces it
def prepare_connection(conn: Any) -> None:
    conn.create_function("escape_fts", 1, fts_query)
    conn.create_function("ipnews_fts", 1, fts_query)
    conn.create_function("ipnews_snippet", 4, snippet)


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str,
                datasette: Any) -> Markup | None:
    """A snippet's ** marks as highlighting; a URL as a link people can click."""
    if column == "snippet" and isinstance(value, str) and "**" in value:
        parts = html.escape(value).split("**")
        marked = "".join(f"<mark>{p}</mark>" if i % 2 else p for i, p in enumerate(parts))
        return Markup(marked)
    if column == "url" and isinstance(value, str) and value.startswith(("http://", "https://")):
        url = html.escape(value, quote=True)
        return Markup(f'<a href="{url}" rel="nofollow noopener">{url}</a>')
    return None


@hookimpl
def extra_css_urls() -> list[str]:
    from urllib.parse import quote

    return ["data:text/css," + quote(CSS)]


_ARCHIVES: dict[str, bool] = {}


def _is_archive(path: str | None) -> bool:
    """Whether a database file is an ipnews archive (its stories view and index)."""
    if not path:
        return False
    if path not in _ARCHIVES:
        import sqlite3
        from urllib.parse import quote

        try:
            conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
            try:
                names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            finally:
                conn.close()
        except sqlite3.Error:
            names = set()
        _ARCHIVES[path] = {"stories", "articles_fts"} <= names
    return _ARCHIVES[path]


@hookimpl
def get_metadata(datasette: Any, key: str, database: str | None, table: str | None
                 ) -> dict[str, Any]:
    """Metadata for every database that holds an ipnews archive (an articles table with
    its index), whatever the file is called."""
    databases: dict[str, Any] = {}
    for name, db in datasette.databases.items():
        if name.startswith("_") or not _is_archive(getattr(db, "path", None)):
            continue
        databases[name] = {
            "tables": {
                "stories": {
                    "title": "Stories (newest first)",
                    "description": "One row per story; search from the box (English in all "
                                   "its forms, Chinese terms, the glossary's other language)."
                                   " Ranked search with snippets: the 'search' query.",
                    "sort_desc": "published_at",
                    "facets": ["source", {"array": "topics"}, "language", "year"],
                    "fts_table": "articles_fts", "fts_pk": "id",
                    "label_column": "title",
                },
                "articles": {
                    "sort_desc": "published_at",
                    "facets": ["source", {"array": "topics"}, "language"],
                    "label_column": "title",
                },
                "entities": {
                    "title": "What the news names",
                    "description": "Case, patent and trademark numbers and authorities, "
                                   "one row per article that names one; the Chinese and "
                                   "English forms share a key. Facet on a label to see "
                                   "every article about it.",
                    "facets": ["kind", "label"],
                },
            },
            "queries": {
                "search": {
                    "title": "Search, best first",
                    "description": "Relevance-ranked (bm25) search with the match "
                                   "highlighted; Chinese and English, the glossary on.",
                    "sql": SEARCH_SQL,
                    "hide_sql": True,
                },
            },
        }
    return {"databases": databases}
