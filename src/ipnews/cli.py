"""The command line: options -> library call -> render -> exit code. The only module that
knows about click or writes to stdout. Heavy modules (httpx, trafilatura, sqlite-utils)
are imported inside the commands that need them, so `ipnews search` starts fast."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from ipnews import __version__
from ipnews.errors import (
    EXIT_ALARM,
    EXIT_BUG,
    EXIT_OK,
    EXIT_OUTAGE,
    EXIT_PARTIAL,
    EXIT_STORAGE,
    EXIT_USAGE,
    Interrupted,
    IpnewsError,
    StorageError,
    UsageError,
)

_DEBUG = False
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)?)?$")


# --- shared options ------------------------------------------------------------------
def _set_debug(_ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    global _DEBUG
    _DEBUG = _DEBUG or value
    return value


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--db, --config, --debug on every command (after the command's name)."""
    @click.option("--db", "db_option", metavar="PATH", envvar="IPNEWS_DB",
                  help="Archive file [env IPNEWS_DB; default: see `ipnews --help`].")
    @click.option("--config", "config_option", metavar="PATH", envvar="IPNEWS_CONFIG",
                  help="Config file [env IPNEWS_CONFIG].")
    @click.option("--debug", is_flag=True, expose_value=False, callback=_set_debug,
                  is_eager=True, help="Show tracebacks and debug logging.")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)
    return wrapper


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The same format flags on every command that prints records."""
    @click.option("--table", "fmt", flag_value="table", default=True,
                  help="Aligned columns for people (default).")
    @click.option("--json", "fmt", flag_value="json", help="One JSON array ([] when empty).")
    @click.option("--jsonl", "fmt", flag_value="jsonl", help="One JSON object per line.")
    @click.option("--csv", "fmt", flag_value="csv", help="CSV with a header row.")
    @click.option("--atom", "fmt", flag_value="atom",
                  help="An Atom 1.0 feed, for a feed reader (> ~/feeds/name.xml).")
    @click.option("--fields", metavar="A,B,...", help="Only these fields, in this order.")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)
    return wrapper


def _setup(config_option: str | None, db_option: str | None, verbose: int = 0,
           quiet: bool = False, strict: bool = True, logs: bool = True) -> tuple[Any, Path]:
    """The config and the archive's path; logging to stderr for commands whose library
    code logs (logs=False: `ipnews search` starts without importing logging)."""
    from ipnews.config import load_config, resolve_db

    if logs or _DEBUG:
        from ipnews.logs import configure

        configure("debug" if _DEBUG else "error" if quiet else "info" if verbose
                  else "warning")
    config = load_config(config_option, strict=strict)
    return config, resolve_db(db_option, config)


def _say(message: str) -> None:
    """One line for people on stderr, cleaned of control characters."""
    from ipnews.formats import safe

    click.echo(safe(message, one_line=True), err=True)


def _fields(fields: str | None, available: Iterable[str]) -> list[str] | None:
    if not fields:
        return None
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    allowed = list(available)
    unknown = [f for f in wanted if f not in allowed]
    if unknown:
        raise UsageError(f"unknown field {unknown[0]!r} (available: {', '.join(allowed)})")
    return wanted


def _emit(rows: Iterable[dict[str, Any]], fmt: str, fields: list[str] | None,
          columns: list[str] | None = None, widths: dict[str, int] | None = None,
          available: Iterable[str] = (), feed: tuple[str, ...] = ()) -> None:
    """Rows to stdout in fmt. feed: what the records are (e.g. ("search", "customs")),
    naming an Atom feed and giving it an id that stays the same from run to run."""
    from ipnews.formats import render, select

    if fmt == "atom":
        from ipnews.atom import render_atom, tag_uri

        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
        parts = feed or tuple(click.get_current_context().command_path.split()[1:])
        with _reader_may_leave():
            render_atom(select(rows, fields), sys.stdout, title="ipnews " + " ".join(parts),
                        feed_id=tag_uri(*parts), generator_version=__version__)
        return
    if fmt != "table":
        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    with _reader_may_leave():
        render(select(rows, fields), fmt, sys.stdout, columns=fields or columns, widths=widths,
               header=fields or list(available))


@contextlib.contextmanager
def _reader_may_leave() -> Any:
    """`ipnews export | head` is a normal use: a closed pipe ends the output quietly, with
    exit 0 (click would turn it into exit 1, which the README reserves for bugs)."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()


def _short_time(value: str | None) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM' for a table cell (its column says the
    zone: runs are recorded in UTC, articles as their page states them)."""
    return (value or "")[:16].replace("T", " ")


def _check_date(value: str | None, name: str) -> str | None:
    """A date stays a date (the day as pages print it); a date and time becomes ISO 8601,
    Shanghai time when it has no offset, compared with published_at as an instant."""
    if value is None:
        return None
    if not _DATE.match(value):
        raise UsageError(f"{name} must be a date like 2024-11-30 or 2024-11-30T08:00 "
                         f"(got {value!r})")
    from datetime import date, datetime

    if len(value) == 10:
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise UsageError(f"{name}: {exc} ({value!r})") from exc
        return value

    from ipnews.article import iso_shanghai

    try:
        return iso_shanghai(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError) as exc:  # 0001-01-01T00:00+08:00 is before year 1
        raise UsageError(f"{name}: {exc} ({value!r})") from exc


def _finite(value: float | None, name: str) -> float | None:
    import math

    if value is not None and not math.isfinite(value):  # FloatRange lets nan through
        raise click.BadParameter(f"{value} is not a number of seconds", param_hint=name)
    return value


def _check_source(value: str | None, config: Any) -> str | None:
    """A built-in source or one the config file declares."""
    if value is None:
        return None
    from ipnews.sources import source_names

    known = sorted({*source_names(), *config.sources})
    if value not in known:
        raise UsageError(f"unknown source {value!r} (known: {', '.join(known)})")
    return value


def _open_reader(db: Path) -> Any:
    from ipnews.store import open_reader

    return open_reader(db)


# --- the group -----------------------------------------------------------------------
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ipnews")
def cli() -> None:
    """Keep a local, searchable archive of intellectual-property news about China.

    The archive is one SQLite file (default: the user data directory, e.g.
    ~/.local/share/ipnews/ipnews.db; set --db or IPNEWS_DB). Exit codes: 0 ok,
    1 internal error, 2 usage, 3 some sources or pages failed, 4 storage,
    5 no source could be read, 6 a source looks broken (its site changed),
    75 another fetch holds the lock, 130/143 interrupted.

    \b
    Example:
        ipnews fetch && ipnews search customs
    """


# --- fetch ---------------------------------------------------------------------------
@cli.command()
@click.argument("source_names", nargs=-1, metavar="[SOURCE]...")
@click.option("--full", is_flag=True, help="Walk the whole listing history (backfill).")
@click.option("--refresh", is_flag=True,
              help="Re-check known articles on the listing pages visited (edits become "
                   "new versions; unchanged pages cost a 304 where the site supports it).")
@click.option("--max-pages", type=click.IntRange(1), metavar="N",
              help="At most N listing pages per section (default 10, --full: no limit).")
@click.option("--delay", type=click.FloatRange(0, 3600), metavar="SECONDS",
              callback=lambda _ctx, _param, value: _finite(value, "--delay"),
              help="Seconds between requests to one host (default 1).")
@click.option("-v", "--verbose", count=True, help="List skipped stories and more.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something failed.")
@click.option("--offline", is_flag=True,
              help="Touch no network: answer every request from the archive's own captures.")
@click.option("--replay", "replay_file", metavar="FILE.warc.gz",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Touch no network: answer every request from this WARC file.")
@common_options
def fetch(source_names: tuple[str, ...], full: bool, refresh: bool, max_pages: int | None,
          delay: float | None, verbose: int, quiet: bool, offline: bool,
          replay_file: Path | None, db_option: str | None,
          config_option: str | None) -> None:
    """Fetch new articles from the sources (default: all enabled) into the archive.

    A normal run reads each source's listing pages, feeds and sitemaps (sources on
    different hosts at the same time) and stops at the first page whose articles are
    all known. One line per source goes to stderr: new, updated, duplicate, skipped
    (not about IP), failed; an ALARM line, even with -q, when a source looks broken.

    \b
    --offline and --replay run the same fetch against captures instead of the network
    (a demo, a parser change tested end to end, a run debugged after the fact); pages
    keep the time they were captured. A page never captured fails as not_captured.

    \b
    Example:
        ipnews fetch                 # all sources, from cron
        ipnews fetch shine --full    # backfill SHINE's whole history
        ipnews fetch --replay archive.warc.gz --db demo.db
    """
    from ipnews.client import Client
    from ipnews.lock import RunLock
    from ipnews.pipeline import HOSTS_AT_ONCE, Options, Runner, Stop
    from ipnews.store import check_path, check_sidecars
    from ipnews.worker import DEFAULT_TIMEOUT, Extractor

    config, db = _setup(config_option, db_option, verbose, quiet)
    if offline and replay_file:
        raise UsageError("--offline answers from the archive, --replay from a WARC: "
                         "give one of them")
    sources = _build_sources(config, source_names)
    settings = _client_settings(config, sources, delay)
    stop = Stop()
    cap = config.fetch.get("max_bytes", MAX_PAGE_BYTES)
    check_path(db)  # before the lock file is made beside it
    check_sidecars(db)
    timeout = config.fetch.get("extract_timeout", DEFAULT_TIMEOUT)
    with contextlib.ExitStack() as stack:
        stack.enter_context(RunLock(db))
        archive = _open_archive(db, quiet, keep_raw=config.fetch.get("keep_raw", True))
        stack.callback(archive.close)
        progress = _progress_printer() if sys.stderr.isatty() and not quiet else None
        stack.callback(_clear_progress, progress)
        client_for, origin = (lambda: Client(settings, stop=stop)), None
        if offline or replay_file:
            client_for, origin = _replay_clients(archive, replay_file, cap, stop)
        options = Options(full=full, refresh=refresh,
                          max_pages=max_pages or (None if full else config.fetch.get("max_pages")),
                          time_budget=config.fetch.get("time_budget"),
                          stale_after=config.fetch.get("stale_after", 30.0), origin=origin)
        runner = Runner(archive, options, stop, progress=progress, client_for=client_for,
                        extractor_for=lambda: Extractor(timeout=timeout, stop=stop),
                        hosts_at_once=config.fetch.get("hosts_at_once", HOSTS_AT_ONCE))
        stack.enter_context(_SignalHandlers(stop))
        try:
            reports = runner.run(sources)
        except Interrupted as exc:
            _clear_progress(progress)
            click.echo(f"interrupted: {runner.saved} articles saved before the signal; "
                       "the archive is consistent", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None
        except StorageError as exc:
            archive.verified = False  # a file that failed us must be checked again next time
            raise type(exc)(f"{exc}; {runner.saved} articles saved in this run before it, "
                            "and they are intact") from exc
    failed = [r for r in reports if r.status != "ok"]
    outage = bool(reports) and all(r.status == "failed" for r in reports)
    for r in reports:
        if not quiet or r.status != "ok":
            _say(r.summary())
        if not verbose and r.status != "ok":  # with -v they were logged as they happened
            for error in r.errors[:10]:
                _say(f"  {error}")
            if len(r.errors) > 10:
                _say(f"  ... and {len(r.errors) - 10} more (all in `ipnews runs --json`)")
    alarms = [r.alarm for r in reports if r.alarm]
    for alarm in alarms:  # even with -q: cron must mail the person who fixes parsers
        _say(alarm)
    if outage:
        click.echo("nothing could be fetched: every source failed (is the network down?)",
                   err=True)
        raise click.exceptions.Exit(EXIT_OUTAGE)
    if alarms:
        raise click.exceptions.Exit(EXIT_ALARM)
    if failed:
        raise click.exceptions.Exit(EXIT_PARTIAL)


@contextlib.contextmanager
def _consistent(archive: Any, progress: Callable[[str], None] | None, what: str,
                again: str) -> Iterator[None]:
    """A long write of many transactions: an interrupt says the archive is consistent and
    how to finish; a storage error makes the next open check the file."""
    try:
        yield
    except Interrupted as exc:
        _clear_progress(progress)
        click.echo(f"interrupted: the archive is consistent (every {what} is its own "
                   f"transaction); {again}", err=True)
        raise click.exceptions.Exit(exc.exit_code) from None
    except StorageError:
        archive.verified = False  # a file that failed us must be checked again next time
        raise


def _replay_clients(archive: Any, replay_file: Path | None, cap: int,
                    stop: Any) -> tuple[Callable[[], Any], str]:
    """The client factory of an offline fetch, and the run's origin."""
    from ipnews.replay import ReplayClient, WarcIndex, archive_lookup

    if replay_file is None:
        return (lambda: ReplayClient(archive_lookup(archive), "the archive", stop),
                "offline: the archive's captures")
    try:
        index = WarcIndex(replay_file, cap, stop.is_set)
    except (OSError, StorageError) as exc:
        raise UsageError(str(exc)) from None
    for problem in index.tally.problems[:10]:
        _say(f"  {problem}")
    if not index.offsets:
        raise UsageError(f"{replay_file}: no HTTP response in this file to replay")
    return (lambda: index.client(stop)), f"replay {replay_file}"


def _build_sources(config: Any, names: tuple[str, ...]) -> list[Any]:
    from ipnews.sources import registry
    from ipnews.sources.declared import COMMON, declared_class

    classes = dict(registry())
    for name, table in config.sources.items():
        if name not in classes:
            try:
                classes[name] = declared_class(name, table)
            except UsageError as exc:
                raise UsageError(f"{config.path}: {exc}") from None
    chosen = list(dict.fromkeys(names)) or [
        n for n in classes if config.sources.get(n, {}).get("enabled", True)]
    sources = []
    for name in chosen:
        if name not in classes:
            raise UsageError(f"unknown source {name!r} (known: {', '.join(classes)})")
        cls = classes[name]
        table = dict(config.sources.get(name, {}))
        base_url = table.get("base_url")
        options = ({"declaration": table} if name not in registry() else
                   {k: v for k, v in table.items() if k not in COMMON})
        try:
            sources.append(cls(base_url=base_url, **options))
        except UsageError as exc:
            raise UsageError(f"{config.path}: {exc}") from exc
    return sources


MAX_PAGE_BYTES = 10 * 1024 * 1024  # the client's default cap on a response, for files too


def _read_page_file(path: Path, cap: int) -> bytes:
    """A saved page, under the same cap as a download: /dev/zero or a FIFO must not
    grow without limit or block."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError(f"cannot read {path}: not a regular file")
        try:
            body = f.read(cap + 1)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    if len(body) > cap:
        raise UsageError(f"{path} is larger than {cap:,} bytes (fetch.max_bytes)")
    return body


def _client_settings(config: Any, sources: list[Any], delay: float | None,
                     typed: tuple[str, ...] = ()) -> Any:
    """typed: URLs the user gave on the command line, which may be fetched from their own
    host and port even if private (redirects elsewhere are still checked)."""
    from urllib.parse import urlsplit

    from ipnews.client import Settings

    fetch = dict(config.fetch)
    for key in ("max_pages", "keep_raw", "time_budget", "extract_timeout", "stale_after",
                "hosts_at_once"):
        fetch.pop(key, None)
    if delay is not None:
        fetch["delay"] = delay
    # A base_url the user configured may be a private address (a local mirror, a proxy):
    # that host, and only that host and port, is exempt from the public-address check.
    delays = {}
    for source in sources:
        delay = config.sources.get(source.name, {}).get("delay")
        if delay is not None:
            for host in {*source.hosts, urlsplit(source.base_url).hostname or ""} - {""}:
                delays[host] = max(float(delay), delays.get(host, 0.0))
    allow = set()
    bases = [s.base_url for s in sources
             if s.base_url != s.home or config.sources.get(s.name, {}).get("base_url")]
    for base in [*bases, *typed]:
        try:
            parts = urlsplit(base)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise UsageError(f"bad URL {base!r}: {exc}") from exc
        allow.add(f"{(parts.hostname or '').lower()}:{port}")
    return Settings(**fetch, allow_private=frozenset(allow), host_delays=delays)


def _progress_printer() -> Callable[[str], None]:
    from ipnews.formats import terminal_columns

    width = terminal_columns(80) - 1

    def show(message: str) -> None:
        from ipnews.formats import safe

        sys.stderr.write("\r\x1b[K" + safe(message, one_line=True)[:width])
        sys.stderr.flush()
    return show


def _check_topic(topic: str | None) -> str | None:
    if topic is None:
        return None  # `ipnews search` without --topic never compiles the topics' rules
    from ipnews.topics import names

    if topic not in names():
        raise UsageError(f"unknown topic {topic!r} (known: {', '.join(names())})")
    return topic


def _open_archive(db: Path, quiet: bool = False, **options: Any) -> Any:
    """Archive.open, showing on a terminal how a migration that rebuilds the search index
    on a large archive is getting on."""
    from ipnews import store

    progress = _progress_printer() if sys.stderr.isatty() and not quiet else None
    if progress is not None:
        store.migration_progress = lambda what, done, total: progress(
            f"upgrading the archive: {what}, {done:,} of {total:,} articles")
    try:
        return store.Archive.open(db, **options)
    finally:
        store.migration_progress = None
        _clear_progress(progress)


def _clear_progress(progress: Callable[[str], None] | None) -> None:
    if progress is not None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


class _SignalHandlers:
    """SIGINT and SIGTERM stop the run between two articles (the client also drops a
    request in flight); a second one stops at once (still safe: every article is its own
    transaction)."""

    def __init__(self, stop: Any) -> None:
        self.stop, self.previous = stop, {}

    def handle(self, signum: int, _frame: Any) -> None:
        if self.stop.is_set():
            raise Interrupted(signum)
        self.stop.signum = signum
        self.stop.set()

    def __enter__(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self.handle)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


# --- search --------------------------------------------------------------------------
SEARCH_FIELDS = ("id", "source", "url", "title", "published_at", "authors", "section",
                 "snippet", "score", "bm25", "expansion", "story_id", "also_in",
                 "first_published")


def _also_in(rows: list[dict[str, Any]]) -> None:
    """Each row's other copies as one table cell: their sources, once each."""
    for r in rows:
        r["also in"] = ", ".join(dict.fromkeys(c["source"] for c in r.get("also_in") or ()))


def _glossary(config: Any) -> dict[str, tuple[str, ...]]:
    """The glossary a query is expanded with: the user's groups first, then ipnews's."""
    from ipnews.glossary import GLOSSARY, expansions

    return expansions(config.glossary_groups() + GLOSSARY)


@contextlib.contextmanager
def _writing(db: Path) -> Iterator[Any]:
    """The archive open for writing under the run lock (no fetch meanwhile), closed
    whatever happens."""
    from ipnews.lock import RunLock

    with RunLock(db):
        archive = _open_archive(db)
        try:
            yield archive
        finally:
            archive.close()


def _check_entity(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    from ipnews.entities import parse_query

    found = parse_query(value)
    if found is None:
        raise UsageError(f"--entity: {value!r} is not a case, patent or trademark number nor "
                         "an authority ipnews knows (see `ipnews entities`)")
    return found


@cli.command()
@click.argument("query", nargs=-1)
@click.option("--fts", "raw", is_flag=True, help="QUERY is raw SQLite FTS5 syntax.")
@click.option("--source", help="Only this source.")
@click.option("--since", metavar="DATE", help="Published on or after DATE (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Published on or before DATE.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance",
              show_default=True)
@click.option("--exact", is_flag=True,
              help="Search the words as given: no glossary terms of the other language.")
@click.option("--topic", metavar="TOPIC",
              help="Only stories of this IP topic (trademark, patent, customs, ...; see README).")
@click.option("--entity", metavar="VALUE",
              help="Only articles naming this case, patent or trademark number or authority "
                   "(either language); QUERY may then be left out.")
@click.option("--all-copies", is_flag=True,
              help="Every matching article, not one row per story.")
@output_options
@common_options
def search(query: tuple[str, ...], raw: bool, source: str | None, since: str | None,
           until: str | None, limit: int, sort: str, exact: bool, topic: str | None,
           entity: str | None, all_copies: bool, fmt: str, fields: str | None,
           db_option: str | None, config_option: str | None) -> None:
    """Search the archive; best matches first, with a highlighted snippet.

    Plain words are searched literally (all must appear), in any of their forms
    (trademark finds trademarks); "quoted words" are a phrase; word* is a prefix.
    Chinese terms are found wherever the text contains them, ranked like English
    words. A term of the IP glossary is also searched in the other language
    (customs finds 海关; see README); --exact turns that off. --fts takes FTS5
    syntax (AND, OR, NOT, NEAR, column filters). A story carried by several
    outlets is one row, with the others under "also in"; --all-copies shows each.

    \b
    Example:
        ipnews search customs seizure --since 2024-01-01
        ipnews search 商标 --exact
        ipnews search customs --json | jq '.[0].title'
        ipnews search --entity "（2023）最高法知民终123号"
    """
    from ipnews.store import search as run_search

    if not query and not entity:
        raise UsageError("give a QUERY to search for, or --entity")
    config, db = _setup(config_option, db_option, strict=False, logs=False)
    wanted = _fields(fields, SEARCH_FIELDS)
    source, since, until = (_check_source(source, config), _check_date(since, "--since"),
                            _check_date(until, "--until"))
    glossary = None if exact else _glossary(config)
    conn = _open_reader(db)
    try:
        rows = run_search(conn, " ".join(query), raw=raw, source=source, since=since,
                          until=until, limit=limit, sort=sort, path=db, glossary=glossary,
                          topic=_check_topic(topic), entity=_check_entity(entity),
                          copies=all_copies)
    finally:
        conn.close()
    feed = ("search", " ".join(query) or entity or "")
    if fmt == "table" and not wanted:
        for r in rows:
            r["published_at"] = (r["published_at"] or "")[:10]
        _also_in(rows)
        if not rows and sys.stdout.isatty():
            # In a terminal, nothing at all looks like a failure; a pipe gets nothing.
            click.echo("no results", err=True)
            return
        _emit(rows, fmt, None, columns=["id", "published_at", "source", "title", "snippet",
                                        "also in", "url"], widths={"title": 60, "also in": 24})
    else:
        _emit(rows, fmt, wanted, available=SEARCH_FIELDS, feed=feed)


# --- show / export ---------------------------------------------------------------------
@cli.command()
@click.argument("keys", nargs=-1, required=True, metavar="ID|URL...")
@click.option("--versions", "with_versions", is_flag=True,
              help="Also every earlier version, each as a word diff from the one before.")
@click.option("--evidence", "with_evidence", is_flag=True,
              help="Instead: when and from where each text's page was fetched, the request "
                   "and response headers, its digest (checked now) and the run that stored "
                   "it, as text to attach to a memo (--json: as data).")
@output_options
@common_options
def show(keys: tuple[str, ...], with_versions: bool, with_evidence: bool, fmt: str,
         fields: str | None, db_option: str | None, config_option: str | None) -> None:
    """Show whole articles: every field, the body, the URLs, the versions, the story's
    copies in other outlets (and how each differs) and the entities named.

    \b
    Example:
        ipnews show 12
        ipnews show 12 --versions
        ipnews show 12 --evidence > evidence-12.txt
        ipnews show https://www.shine.cn/news/nation/2411110001/ --json
    """
    if with_evidence:
        _show_evidence(keys, fmt, db_option, config_option)
        return
    from ipnews.formats import render_record
    from ipnews.store import SHOW_FIELDS, get_article

    _config, db = _setup(config_option, db_option, strict=False)
    wanted = _fields(fields, SHOW_FIELDS)
    conn = _open_reader(db)
    try:
        records, missing = [], []
        for key in keys:
            if not _encodable(key):  # bytes that are not UTF-8 name no article
                missing.append(key)
                continue
            record = get_article(conn, key) or next(
                filter(None, (get_article(conn, k) for k in _spellings(key))), None)
            (records.append(record) if record else missing.append(key))
        for record in records:
            _compare_copies(conn, record)
            if with_versions:
                record["versions"] = _version_diffs(conn, record["id"])
    finally:
        conn.close()
    if fmt == "table":
        from ipnews.formats import select

        with _reader_may_leave():
            for i, record in enumerate(select(records, wanted)):
                if i:
                    sys.stdout.write("\n" + "=" * 40 + "\n")
                render_record(record, sys.stdout)
                for v in record.get("versions") or () if with_versions else ():
                    if v.get("diff") is not None:
                        sys.stdout.write(f"\n--- v{v['version'] - 1} -> v{v['version']} "
                                         f"({v['captured_at']}) ---\n")
                        sys.stdout.write(v.get("rendered", "") + "\n")
    else:
        for record in records:
            for v in record.get("versions") or ():
                v.pop("rendered", None)
        _emit(records, fmt, wanted, available=SHOW_FIELDS)
    if missing:
        raise UsageError(f"no article with id or URL {_shown(missing[0])}")


def _show_evidence(keys: tuple[str, ...], fmt: str, db_option: str | None,
                   config_option: str | None) -> None:
    from ipnews.evidence import render_evidence
    from ipnews.store import evidence, get_article

    _config, db = _setup(config_option, db_option, strict=False)
    if fmt not in ("table", "json", "jsonl"):
        raise UsageError("--evidence prints text, --json or --jsonl")
    conn = _open_reader(db)
    try:
        found = []
        for key in keys:
            article = get_article(conn, key) if _encodable(key) else None
            if article is None:
                raise UsageError(f"no article with id or URL {_shown(key)}")
            found.append(evidence(conn, article["id"]))
    finally:
        conn.close()
    with _reader_may_leave():
        if fmt == "table":
            click.echo("\n\n".join(render_evidence(f) for f in found))
        else:
            _emit(found, fmt, None)


def _compare_copies(conn: Any, record: dict[str, Any]) -> None:
    """How each copy of the story differs from this article: a headline of its own, and
    the words its text adds and leaves out."""
    from ipnews.diffing import diff_versions, tokens
    from ipnews.store import version_texts

    for copy in record.get("copies") or ():
        texts = version_texts(conn, copy["id"])
        title, body = diff_versions(record, texts[max(texts)], fields=("title", "body"))
        words = {"insert": 0, "delete": 0}
        for change in body.changes:
            if change.op in words:
                words[change.op] += sum(1 for t in tokens(change.text) if t.strip())
        copy["differs"] = {"title": title.changed, "words_added": words["insert"],
                           "words_removed": words["delete"]}


def _version_diffs(conn: Any, article_id: int) -> list[dict[str, Any]]:
    """Every version of an article, each with its word diff from the one before."""
    from ipnews.diffing import diff_versions, render_terminal, to_json
    from ipnews.store import version_texts

    texts = version_texts(conn, article_id)
    out = []
    for number in sorted(texts):
        v = dict(texts[number])
        before = texts.get(number - 1)
        if before is not None:
            diffs = diff_versions(before, v)
            v["diff"] = to_json(diffs)
            v["rendered"] = render_terminal(diffs, color=sys.stdout.isatty())
        else:
            v["diff"] = None
        out.append(v)
    return out


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(text: str) -> str:
    """A user's argument quoted for a message, whatever bytes it holds."""
    return repr(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def _spellings(key: str) -> list[str]:
    """The canonical forms of a URL a user pasted (http/https, www, utm_*, a slash...)."""
    if not re.match(r"^https?://", key, re.I):
        return []
    from ipnews.sources import registry
    from ipnews.urls import canonical_url

    return [cls().canonical(key) for cls in registry().values()] + [canonical_url(key)]


@cli.command()
@click.option("--source", help="Only this source.")
@click.option("--since", metavar="DATE", help="Published on or after DATE (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Published on or before DATE.")
@click.option("--topic", metavar="TOPIC",
              help="Only stories of this IP topic (trademark, patent, customs, ...; see README).")
@click.option("--entity", metavar="VALUE",
              help="Only articles naming this case, patent or trademark number or authority.")
@click.option("--all-copies", is_flag=True,
              help="Every article, not one row per story (its first stored copy).")
@click.option("--warc", "warc_file", metavar="FILE.warc.gz",
              help="Write the raw captures as a WARC file instead (- for stdout).")
@output_options
@common_options
def export(source: str | None, since: str | None, until: str | None, topic: str | None,
           entity: str | None, all_copies: bool, warc_file: str | None, fmt: str,
           fields: str | None, db_option: str | None, config_option: str | None) -> None:
    """Export articles (all, or filtered), oldest first, streamed: one row per story,
    with its other copies under also_in, unless --all-copies.

    --warc writes the raw captures instead, as a WARC file (ISO 28500) that replay
    tools and `ipnews import` read: for each capture a response record (status, headers
    and body as received, sha256 digests), a request record and a metadata record naming
    its article. Without filters, the listing pages of the last run and the further
    pages of split stories too (all `fetch --replay` needs).

    \b
    Example:
        ipnews export --jsonl > archive.jsonl
        ipnews export --source ctplo --csv --fields id,published_at,title,url
        ipnews export --topic customs --since 2026-01-01 --jsonl
        ipnews export --all-copies --jsonl > every-article.jsonl
        ipnews export --warc ipnews-$(date +%F).warc.gz
    """
    from ipnews.store import ARTICLE_FIELDS
    from ipnews.store import export as run_export

    available = (*ARTICLE_FIELDS, "also_in", "first_published")
    config, db = _setup(config_option, db_option, strict=False)
    wanted = _fields(fields, available)
    source, since, until = (_check_source(source, config), _check_date(since, "--since"),
                            _check_date(until, "--until"))
    conn = _open_reader(db)
    try:
        rows = run_export(conn, source=source, since=since, until=until,
                          topic=_check_topic(topic), entity=_check_entity(entity),
                          copies=all_copies or warc_file is not None)
        if warc_file is not None:
            everything = not (source or since or until or topic or entity)
            _write_warc(conn, rows, everything, warc_file, db)
            return
        if fmt == "table" and not wanted:
            _emit(rows, fmt, None, columns=["id", "published_at", "source", "title", "url"],
                  widths={"title": 70})
        else:
            _emit(rows, fmt, wanted, available=available)
    finally:
        conn.close()


def _write_warc(conn: Any, rows: Iterable[dict[str, Any]], everything: bool, target: str,
                db: Path) -> None:
    from ipnews.article import utcnow
    from ipnews.files import atomic_file
    from ipnews.store import warc_captures
    from ipnews.warc import OutRecord, WarcOut

    def write(out: Any, name: str) -> tuple[int, int]:
        warc = WarcOut(out, name, f"ipnews archive {db.name}, exported "
                                  f"{utcnow()}")
        captures = damaged = 0
        for capture in warc_captures(conn, rows, everything):
            if capture["body"] is None:
                damaged += 1  # `ipnews check` names it; the rest of the export goes on
                continue
            warc.add(OutRecord(
                url=capture["final_url"] or capture["url"], status=capture["status"] or 200,
                headers=capture["headers"], body=capture["body"], sha256=capture["sha256"],
                fetched_at=capture["fetched_at"], exchange=capture["exchange"],
                meta={**capture["meta"], "ipnews-capture-id": capture["id"],
                      "ipnews-run-id": capture["run_id"], "ipnews-origin": capture["origin"]}))
            captures += 1
        return captures, damaged

    if target == "-":
        captures, damaged = write(sys.stdout.buffer, "stdout.warc.gz")
        sys.stdout.buffer.flush()
    else:
        path = Path(target)
        if path.exists() and not path.is_symlink() and db.exists() and os.path.samefile(path, db):
            raise UsageError(f"{path} is the archive itself")
        if path.exists() or path.is_symlink():
            raise UsageError(f"{path} exists (remove it first, or choose another name)")
        with atomic_file(path) as out:
            captures, damaged = write(out, path.name)
    if damaged:
        _say(f"{damaged} damaged captures left out (see `ipnews check`)")
        raise click.exceptions.Exit(EXIT_PARTIAL)
    if sys.stderr.isatty():
        _say(f"wrote {captures:,} captures to {target}")


# --- following a matter: diffs, entities, stories, watches --------------------------------
@cli.command()
@click.argument("key", metavar="ID|URL")
@click.argument("v1", type=click.IntRange(1), required=False)
@click.argument("v2", type=click.IntRange(1), required=False)
@click.option("--json", "as_json", is_flag=True, help="The changes as JSON.")
@common_options
def diff(key: str, v1: int | None, v2: int | None, as_json: bool, db_option: str | None,
         config_option: str | None) -> None:
    """Show what an edit changed: a word diff (Chinese by character) between two versions
    of an article; by default the one before the current and the current. Colour in a
    terminal, [-removed-] {+added+} otherwise.

    \b
    Example:
        ipnews diff 12
        ipnews diff 12 1 3
        ipnews diff 12 --json | jq '.[].field'
    """
    import json as json_module

    from ipnews.diffing import diff_versions, render_terminal, to_json
    from ipnews.store import get_article, version_texts

    _config, db = _setup(config_option, db_option, strict=False)
    conn = _open_reader(db)
    try:
        article = get_article(conn, key) if _encodable(key) else None
        if article is None:
            raise UsageError(f"no article with id or URL {_shown(key)}")
        texts = version_texts(conn, article["id"])
    finally:
        conn.close()
    current = max(texts)
    if current == 1:
        raise UsageError(f"article {article['id']} has one version only: nothing to compare")
    new = v2 if v2 is not None else current
    old = v1 if v1 is not None and v1 != new else new - 1
    for number in (old, new):
        if number not in texts:
            raise UsageError(f"article {article['id']} has no version {number} (it has "
                             f"{', '.join(map(str, sorted(texts)))})")
    diffs = diff_versions(texts[old], texts[new])
    with _reader_may_leave():
        if as_json:
            sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
            click.echo(json_module.dumps({"id": article["id"], "from": old, "to": new,
                                          "changes": to_json(diffs)}, ensure_ascii=False))
        else:
            click.echo(f"article {article['id']}: v{old} ({texts[old]['captured_at']}) -> "
                       f"v{new} ({texts[new]['captured_at']})")
            click.echo(render_terminal(diffs, color=sys.stdout.isatty()))


@cli.command()
@click.option("--kind", type=click.Choice(["case", "patent", "trademark", "authority"]),
              help="Only this kind.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@output_options
@common_options
def entities(kind: str | None, limit: int, fmt: str, fields: str | None,
             db_option: str | None, config_option: str | None) -> None:
    """The case, patent and trademark numbers and the authorities the news names, most
    reported first: how many stories and articles, first and last seen, and the other
    ways each was written (a case number in Chinese and in English is one entity).

    \b
    Example:
        ipnews entities --kind case
        ipnews search --entity CNIPA
    """
    from ipnews.store import ENTITY_FIELDS, entity_counts

    _config, db = _setup(config_option, db_option, strict=False)
    wanted = _fields(fields, ENTITY_FIELDS)
    conn = _open_reader(db)
    try:
        rows = entity_counts(conn, kind, limit)
    finally:
        conn.close()
    if fmt == "table" and not wanted:
        for r in rows:
            r["first"], r["last"] = (r["first_seen"] or "")[:10], (r["last_seen"] or "")[:10]
            r["also written"] = "; ".join(r["also_written"])
        _emit(rows, fmt, None, columns=["kind", "label", "stories", "articles", "first",
                                        "last", "also written"], widths={"label": 50})
    else:
        _emit(rows, fmt, wanted, available=ENTITY_FIELDS, feed=("entities", kind or "all"))


@cli.command()
@click.option("--rebuild", is_flag=True,
              help="Fingerprint and cluster every article again (after an upgrade that "
                   "changed how).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@output_options
@common_options
def stories(rebuild: bool, limit: int, fmt: str, fields: str | None, db_option: str | None,
            config_option: str | None) -> None:
    """The stories carried by more than one outlet, newest first, with their copies.
    A fetch clusters each new article as it stores it; --rebuild does all again.

    \b
    Example:
        ipnews stories
        ipnews stories --rebuild
    """
    from ipnews.store import multi_copy_stories

    _config, db = _setup(config_option, db_option, strict=False)
    if rebuild:
        with _writing(db) as archive:
            count = archive.rebuild_stories()
        click.echo(f"stories: rebuilt, {count:,} stories", err=True)
        return
    conn = _open_reader(db)
    try:
        rows = multi_copy_stories(conn, limit)
    finally:
        conn.close()
    wanted = _fields(fields, SEARCH_FIELDS)
    if fmt == "table" and not wanted:
        for r in rows:
            r["published_at"] = (r["first_published"] or "")[:10]
        _also_in(rows)
        _emit(rows, fmt, None, columns=["id", "published_at", "source", "title", "also in"],
              widths={"title": 60, "also in": 40})
    else:
        _emit(rows, fmt, wanted, available=SEARCH_FIELDS)


@cli.group()
def watch() -> None:
    """Saved searches that report what is new: `ipnews fetch -q && ipnews watch run` in
    cron mails exactly the news.

    \b
    Example:
        ipnews watch add customs "customs seizure" --topic customs
        ipnews watch run
        ipnews watch run customs --atom > ~/feeds/customs.xml
    """


@watch.command("add")
@click.argument("name")
@click.argument("query", required=False)
@click.option("--source", help="Only this source.")
@click.option("--topic", metavar="TOPIC", help="Only stories of this IP topic.")
@click.option("--entity", metavar="VALUE",
              help="Only articles naming this case, patent or trademark number or authority.")
@click.option("--exact", is_flag=True, help="No glossary terms of the other language.")
@common_options
def watch_add(name: str, query: str | None, source: str | None, topic: str | None,
              entity: str | None, exact: bool, db_option: str | None,
              config_option: str | None) -> None:
    """Save a search as a watch. Its runs report the stories stored after this moment.

    \b
    Example:
        ipnews watch add gacc --entity GACC
        ipnews watch add sneakers "counterfeit sneakers" --source shine
    """
    from ipnews.store import build_query

    if not re.fullmatch(r"[\w.-]{1,64}", name):
        raise UsageError(f"watch name {_shown(name)}: letters, digits, '.', '-' and '_' only")
    if not query and not entity:
        raise UsageError("give a QUERY, or --entity, for the watch to look for")
    if query:
        build_query(query)  # refuse now what a run would refuse
    config, db = _setup(config_option, db_option, strict=False)
    parsed = _check_entity(entity)
    with _writing(db) as archive:
        archive.add_watch(name, query, source=_check_source(source, config),
                          topic=_check_topic(topic),
                          entity=":".join(parsed) if parsed else None, exact=exact)


@watch.command("list")
@output_options
@common_options
def watch_list(fmt: str, fields: str | None, db_option: str | None,
               config_option: str | None) -> None:
    """List the watches: what each looks for, when it last ran, how many stories it
    reported.

    \b
    Example:
        ipnews watch list --json
    """
    from ipnews.store import WATCH_FIELDS, watches

    _config, db = _setup(config_option, db_option, strict=False)
    wanted = _fields(fields, WATCH_FIELDS)
    conn = _open_reader(db)
    try:
        rows = watches(conn)
    finally:
        conn.close()
    _emit(rows, fmt, wanted, available=WATCH_FIELDS)


@watch.command("rm")
@click.argument("name")
@common_options
def watch_rm(name: str, db_option: str | None, config_option: str | None) -> None:
    """Remove a watch and what it remembered.

    \b
    Example:
        ipnews watch rm customs
    """

    _config, db = _setup(config_option, db_option, strict=False)
    with _writing(db) as archive:
        archive.remove_watch(name)


@watch.command("run")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@output_options
@common_options
def watch_run(names: tuple[str, ...], fmt: str, fields: str | None, db_option: str | None,
              config_option: str | None) -> None:
    """Print the stories new to each watch (all, or those named) since it last ran, and
    remember them: quiet when there is nothing new. Each row says which watch found it.

    \b
    Example:
        ipnews watch run
        ipnews watch run customs --atom > ~/feeds/customs.xml
    """
    from ipnews.store import watches

    config, db = _setup(config_option, db_option, strict=False)
    wanted = _fields(fields, ("watch", *SEARCH_FIELDS))
    glossary = _glossary(config)
    _open_reader(db).close()  # a missing or foreign file is an error, not a new archive
    rows: list[dict[str, Any]] = []
    with _writing(db) as archive:
        known = [w["name"] for w in watches(archive.conn)]
        for name in names:
            if name not in known:
                raise UsageError(f"no watch named {_shown(name)} (see `ipnews watch list`)")
        for name in names or known:
            rows += [{"watch": name, **r} for r in archive.run_watch(name, glossary)]
    feed = ("watch", *names) if names else ("watch",)
    if fmt == "table" and not wanted:
        if not rows:
            return  # quiet: cron mails only news
        for r in rows:
            r["published_at"] = (r["published_at"] or "")[:10]
        _also_in(rows)
        _emit(rows, fmt, None, columns=["watch", "id", "published_at", "source", "title",
                                        "also in", "url"], widths={"title": 60})
    else:
        _emit(rows, fmt, wanted, available=("watch", *SEARCH_FIELDS), feed=feed)


# --- sources / runs ----------------------------------------------------------------------
@cli.group(invoke_without_command=True)
@output_options
@common_options
@click.pass_context
def sources(ctx: click.Context, fmt: str, fields: str | None, db_option: str | None,
            config_option: str | None) -> None:
    """List the sources: name, URL fetched, last run and number of articles.

    `ipnews sources add URL` proposes a new source for a site (see its --help).

    \b
    Example:
        ipnews sources
        ipnews sources add https://www.chinalawtranslate.com/ --dry-run
    """
    if ctx.invoked_subcommand is not None:
        return  # `sources add`: its own command
    from ipnews.sources import registry
    from ipnews.store import source_stats

    config, db = _setup(config_option, db_option)
    stats: dict[str, dict[str, Any]] = {}
    if db.exists():
        conn = _open_reader(db)
        try:
            stats = source_stats(conn)
        finally:
            conn.close()
    rows = []
    built_in = registry()
    for source in _build_sources(config, tuple(sorted({*built_in, *config.sources}))):
        name, table = source.name, config.sources.get(source.name, {})
        rows.append({"name": name, "title": source.title,
                     "origin": "built-in" if name in built_in else "config",
                     "finds": ", ".join(dict.fromkeys(k for k, _ in source.discovery())),
                     "url": source.base_url,
                     "enabled": table.get("enabled", True),
                     "last_run": stats.get(name, {}).get("last_run"),
                     "last_status": stats.get(name, {}).get("last_status"),
                     "health": stats.get(name, {}).get("health"),
                     "health_note": stats.get(name, {}).get("health_note"),
                     "last_ok": stats.get(name, {}).get("last_ok"),
                     "articles": stats.get(name, {}).get("articles", 0)})
    wanted = _fields(fields, rows[0])
    if fmt == "table" and not wanted:
        for r in rows:
            r["last run UTC"] = _short_time(r["last_run"])
            r["ok UTC"] = _short_time(r["last_ok"])[:10]
            r["why"] = r["health_note"] or ""
        _emit(rows, fmt, None, columns=["name", "articles", "last run UTC", "health",
                                        "ok UTC", "finds", "why"])
    else:
        _emit(rows, fmt, wanted)


@sources.command("add")
@click.argument("url")
@click.option("--name", help="The source's name (default: from the site's host name).")
@click.option("--dry-run", is_flag=True, help="Print the [sources.NAME] table; write nothing.")
@common_options
@click.pass_context
def sources_add(ctx: click.Context, url: str, name: str | None, dry_run: bool,
                db_option: str | None, config_option: str | None) -> None:
    """Look at a site and add a source for it to the config file.

    Finds the feeds the site links (or serves at the usual paths), the sitemaps its
    robots.txt names, or else the article links on the page; reads the newest few
    articles as a fetch would; and appends a [sources.NAME] table to the config file.
    What was found, and the articles read, are shown on stderr.

    \b
    Example:
        ipnews sources add https://www.chinalawtranslate.com/ --dry-run
        ipnews sources add https://www.example.com/news/ --name examplenews
    """
    from urllib.parse import urlsplit

    from ipnews.client import Client
    from ipnews.config import default_config_path
    from ipnews.probe import DEFAULT_STALE_DAYS, probe, stanza
    from ipnews.worker import DEFAULT_TIMEOUT, Extractor

    # --db and --config given before `add` (`ipnews sources --config X add URL`) count too.
    parent = ctx.parent.params if ctx.parent is not None else {}
    config_option = config_option or parent.get("config_option")
    config, _db = _setup(config_option, db_option or parent.get("db_option"))
    if not re.match(r"^https?://", url):
        raise UsageError(f"not an http(s) URL: {url!r}")
    if name is not None and not dry_run:
        _refuse_taken(name, config)  # before a single request
    settings = _client_settings(config, [], None, typed=(url,))
    with Client(settings) as client, Extractor(
            timeout=config.fetch.get("extract_timeout", DEFAULT_TIMEOUT)) as extractor:
        proposal = probe(url, client, extractor, name=name,
                         stale_after=config.fetch.get("stale_after", DEFAULT_STALE_DAYS))
    if _private(url):
        # The user chose to read a site at a private address (a mirror, a LAN server):
        # fetch may read it too, as it may a base_url written by hand.
        parts = urlsplit(url)
        proposal.table["base_url"] = f"{parts.scheme}://{parts.netloc}"
    for note in proposal.notes:
        _say(note)
    _show_samples(proposal.samples)
    text = stanza(proposal)
    if dry_run:
        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
        with _reader_may_leave():
            click.echo(text, nl=False)
        return
    _refuse_taken(proposal.name, config)
    path = config.path or default_config_path()
    _append_to_config(path, text)
    _say(f"added [sources.{proposal.name}] to {path}; `ipnews fetch {proposal.name}` reads it")


def _private(url: str) -> bool:
    """Whether a URL names a private address by itself (an IP literal or localhost):
    names that need DNS to tell are left to the client's check."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    from ipnews.client import is_public_address

    return not is_public_address(str(address))


def _refuse_taken(name: str, config: Any) -> None:
    from ipnews.sources import source_names

    if name in source_names():
        raise UsageError(f"{name!r} is a built-in source: choose another name with --name")
    if name in config.sources:
        raise UsageError(f"[sources.{name}] already exists in {config.path}: choose another "
                         "name with --name")


def _show_samples(samples: list[dict[str, Any]]) -> None:
    """The articles a probe read, as a table on stderr: for people, not for pipes."""
    from ipnews.formats import render

    rows = [{"published": _short_time(s["published_at"]), "title": s["title"] or "",
             "chars": s["body_chars"], "read by": s["error"] or s["extraction"],
             "url": s["url"]} for s in samples]
    render(rows, "table", sys.stderr, widths={"title": 50, "read by": 40})


def _append_to_config(path: Path, text: str) -> None:
    """Append a table to the config file, atomically: never through a symbolic link, and
    only if the whole file still parses."""
    from ipnews.config import MAX_CONFIG_BYTES, parse_toml
    from ipnews.files import open_regular, write_atomic

    old = b""
    if os.path.lexists(path):
        with open(open_regular(path, os.O_RDONLY), "rb") as f:  # refuses a link, a FIFO
            old = f.read(MAX_CONFIG_BYTES + 1)
    if old and not old.endswith(b"\n"):
        old += b"\n"
    new = old + (b"\n" if old.strip() else b"") + text.encode("utf-8")
    try:
        parse_toml(new.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and TOMLDecodeError too
        raise UsageError(f"cannot add the source to {path}: the file would not be valid "
                         f"TOML ({exc})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, new)


@cli.command()
@click.option("--source", help="Only this source.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@output_options
@common_options
def runs(source: str | None, limit: int, fmt: str, fields: str | None,
         db_option: str | None, config_option: str | None) -> None:
    """List recent fetch runs, newest first (one per source per fetch).

    \b
    Example:
        ipnews runs --limit 5
    """
    from ipnews.store import RUN_FIELDS
    from ipnews.store import runs as list_runs

    config, db = _setup(config_option, db_option, strict=False)
    source = _check_source(source, config)
    conn = _open_reader(db)
    try:
        rows = list_runs(conn, limit=limit, source=source)
    finally:
        conn.close()
    wanted = _fields(fields, RUN_FIELDS)
    if fmt == "table" and not wanted:
        # In 80 columns: when, how it ended, the main counts and why a run was not ok;
        # every field (duplicate, skipped, all errors...) is in --json and --fields.
        for r in rows:
            r["started UTC"] = _short_time(r["started_at"])
            r["first error"] = (r["errors"] or [""])[0]
        _emit(rows, fmt, None, columns=["id", "source", "started UTC", "status", "new",
                                        "updated", "failed", "first error"])
    else:
        _emit(rows, fmt, wanted, available=RUN_FIELDS)


# --- extract -----------------------------------------------------------------------------
@cli.command()
@click.argument("targets", nargs=-1, required=True, metavar="FILE_OR_URL...")
@click.option("--source", "source_name", help="Use this source's parser (default: generic).")
@click.option("--url", "page_url", help="The URL a FILE was saved from (default: its "
              "canonical link, else the file's path); one input only.")
@click.option("--jsonl", is_flag=True, help="One JSON object per line, one line per input in "
              "order (the default for several inputs); a failed input is a line with an "
              "error field.")
@common_options
def extract(targets: tuple[str, ...], source_name: str | None, page_url: str | None,
            jsonl: bool, db_option: str | None, config_option: str | None) -> None:
    """Print extracted articles as JSON, storing nothing.

    Use it to check a parser on saved pages or live URLs. With several inputs (a folder of
    saved pages), each is one line of --jsonl output, in order: a page that fails is a
    line with its error, not the end of the batch (exit 3 if any failed).

    \b
    Example:
        ipnews extract --source shine page.html
        ipnews extract https://example.com/news/1.html
        ipnews extract --jsonl saved/*.html > articles.jsonl
    """
    import json

    from ipnews.formats import safe
    from ipnews.worker import DEFAULT_TIMEOUT, Extractor

    config, _db = _setup(config_option, db_option)
    if page_url and len(targets) > 1:
        raise UsageError("--url names the address of one saved page: give one input with it")
    source = _build_sources(config, (source_name,))[0] if source_name else None
    urls = tuple(t for t in targets if re.match(r"^https?://", t))
    settings = _client_settings(config, [source] if source else [], None, typed=urls)
    jsonl = jsonl or len(targets) > 1
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    failed: IpnewsError | None = None
    with contextlib.ExitStack() as stack:
        # Decoding, parsing, the quality gate and the IP terms run in the extractor process,
        # under extract_timeout and its memory limit: no page can hang this command. One
        # process and one client serve the whole batch.
        extractor = stack.enter_context(
            Extractor(timeout=config.fetch.get("extract_timeout", DEFAULT_TIMEOUT)))
        client = None
        if urls:
            from ipnews.client import Client

            client = stack.enter_context(Client(settings))
        for target in targets:
            try:
                record, refused = _extract_one(target, source, page_url, config, client,
                                               extractor)
            except IpnewsError as exc:
                if not jsonl:
                    raise
                failed = exc
                record = {"input": target, "error": str(exc),
                          "kind": getattr(exc, "kind", type(exc).__name__)}
            else:
                if refused is not None:
                    failed = refused
                    record.update(error=str(refused), kind=refused.kind)
                if jsonl:
                    record = {"input": target, **record}
            with _reader_may_leave():
                click.echo(json.dumps(safe(record), ensure_ascii=False,
                                      indent=None if jsonl else 2))
    if failed is not None:  # a batch with failures is partial, as a fetch is
        raise click.exceptions.Exit(EXIT_PARTIAL) if jsonl else failed


def _extract_one(target: str, source: Any, page_url: str | None, config: Any, client: Any,
                 extractor: Any) -> tuple[dict[str, Any], Any]:
    """One input of `ipnews extract`: its record, and the quality gate's refusal if any."""
    from ipnews.worker import Job

    if re.match(r"^https?://", target):
        canonical = None
        if source is not None:
            # The site's own address, or its configured mirror: fetch from the mirror,
            # name the article by the site's address.
            canonical = source.canonical(source.from_mirror(target))
            target = source.request_url(canonical)
        page = client.get(target)
        body, content_type = page.body, page.content_type
        url = fallback = page_url or canonical or target
    else:
        body = _read_page_file(Path(target), config.fetch.get("max_bytes", MAX_PAGE_BYTES))
        content_type, url, fallback = None, page_url, Path(target).resolve().as_uri()
    result = extractor.extract(Job.inspection(source, body, content_type, url, fallback))
    record = result.article.to_dict()
    if result.ip_terms is not None:
        record["ip_terms"] = result.ip_terms
    return record, result.refused


@cli.command()
@click.option("--source", "source_name", help="Only this source's articles.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something failed.")
@common_options
def reextract(source_name: str | None, quiet: bool, db_option: str | None,
              config_option: str | None) -> None:
    """Re-extract stored articles from their raw captures with today's parsers.

    After a parser fix, this rebuilds the text without fetching anything; a
    changed text becomes a new version.

    \b
    Example:
        ipnews reextract --source ctplo
    """
    from ipnews.lock import RunLock
    from ipnews.pipeline import Stop
    from ipnews.pipeline import reextract as run_reextract
    from ipnews.store import check_path, check_sidecars
    from ipnews.worker import DEFAULT_TIMEOUT, Extractor

    config, db = _setup(config_option, db_option, quiet=quiet)
    if not db.exists():
        raise StorageError(f"database not found: {db} (run `ipnews fetch` first)")
    check_path(db)
    check_sidecars(db)
    sources = {s.name: s for s in _build_sources(config, (source_name,) if source_name else ())}
    stop = Stop()
    with RunLock(db), _SignalHandlers(stop):
        archive = _open_archive(db, quiet)
        extractor = Extractor(timeout=config.fetch.get("extract_timeout", DEFAULT_TIMEOUT),
                              stop=stop)
        try:
            report = run_reextract(archive, sources, extractor, stop=stop)
        except Interrupted as exc:
            click.echo("interrupted: the archive is consistent (every article is its own "
                       "transaction)", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None
        except StorageError:
            archive.verified = False  # a file that failed us must be checked again next time
            raise
        finally:
            extractor.close()
            archive.close()
    if not quiet or report.failed:
        click.echo(f"reextract: {report.updated} updated, {report.unchanged} unchanged, "
                   f"{report.failed} failed", err=True)
        for error in report.errors[:10]:
            _say(f"  {error}")
    if report.failed:
        raise click.exceptions.Exit(EXIT_PARTIAL)


# --- WARC in, merge ----------------------------------------------------------------------
@cli.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE.warc[.gz]...",
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", "source_names", multiple=True, metavar="NAME",
              help="Only pages of this source (repeatable; default: every configured one).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something failed.")
@common_options
def import_(files: tuple[Path, ...], source_names: tuple[str, ...], quiet: bool,
            db_option: str | None, config_option: str | None) -> None:
    """Read WARC files (wget --warc-file, browsertrix-crawler, CC-NEWS, ipnews export
    --warc) into the archive.

    Each HTML response whose URL belongs to a configured source goes through that
    source's parser with every rule of a live fetch: dedup, versions, the relevance
    filter, one transaction per article. Pages keep their capture time. Other sites'
    pages are passed over (declare a site with `ipnews sources add` to keep it). A
    corrupt or cut record is reported and skipped; importing a file again adds nothing.

    \b
    Example:
        ipnews import crawl.warc.gz
        ipnews import CC-NEWS-20261127*.warc.gz --db part-07.db
    """
    from ipnews.importing import import_file
    from ipnews.lock import RunLock
    from ipnews.pipeline import Stop
    from ipnews.store import check_path, check_sidecars
    from ipnews.worker import DEFAULT_TIMEOUT, Extractor

    config, db = _setup(config_option, db_option, quiet=quiet)
    sources = _build_sources(config, source_names)
    cap = config.fetch.get("max_bytes", MAX_PAGE_BYTES)
    check_path(db)
    check_sidecars(db)
    stop = Stop()
    results = []
    progress = _progress_printer() if sys.stderr.isatty() and not quiet else None
    with RunLock(db), _SignalHandlers(stop):
        archive = _open_archive(db, quiet, keep_raw=config.fetch.get("keep_raw", True))
        extractor = Extractor(timeout=config.fetch.get("extract_timeout", DEFAULT_TIMEOUT),
                              stop=stop)
        try:
            with _consistent(archive, progress, "article", "import the file again to "
                                                           "finish it"):
                for path in files:
                    results.append(import_file(archive, sources, path, cap=cap,
                                               extractor=extractor, stop=stop,
                                               progress=progress))
                    _clear_progress(progress)
        finally:
            extractor.close()
            archive.close()
    for result in results:
        if not quiet or result.partial:
            _say(result.summary())
        if result.partial:
            problems = [*result.tally.problems,
                        *(e for r in result.reports.values() for e in r.errors)]
            for problem in problems[:10]:
                _say(f"  {problem}")
            if len(problems) > 10:
                _say(f"  ... and {len(problems) - 10} more")
    if any(r.partial for r in results):
        raise click.exceptions.Exit(EXIT_PARTIAL)


@cli.command()
@click.argument("ids", nargs=-1, type=click.IntRange(1), metavar="[ID]...")
@click.option("--source", "source_name", help="Only this source's articles.")
@click.option("--all", "show_all", is_flag=True, help="List every article, not only problems.")
@output_options
@common_options
def verify(ids: tuple[int, ...], source_name: str | None, show_all: bool, fmt: str,
           fields: str | None, db_option: str | None, config_option: str | None) -> None:
    """Check stored pages and texts: each page against its sha256, each text against
    its stored hash and against a fresh extraction of the page.

    Prints the articles that fail (all with --all): raw (intact, damaged, altered,
    none), row (intact, altered), text (same, differs, failed, not checked) and what
    differs. Exit 0 when everything verifies, 3 when something does not.

    \b
    Example:
        ipnews verify
        ipnews verify 12 40 --json
    """
    from ipnews.evidence import verify as run_verify
    from ipnews.pipeline import Stop
    from ipnews.worker import DEFAULT_TIMEOUT, Extractor

    config, db = _setup(config_option, db_option)
    # Every source an article may name, enabled or not: a text is checked by its parser.
    names = (source_name,) if source_name else _all_source_names(config)
    sources = {s.name: s for s in _build_sources(config, names)}
    if fmt == "atom":
        raise UsageError("verify prints a table, --json, --jsonl or --csv")
    stop = Stop()
    conn = _open_reader(db)
    checked = bad = 0
    seen: set[int] = set()
    shown: list[dict[str, Any]] = []
    available = ("id", "ok", "source", "url", "fetched_at", "sha256", "raw", "row", "text",
                 "differs", "detail")
    try:
        with Extractor(timeout=config.fetch.get("extract_timeout", DEFAULT_TIMEOUT),
                       stop=stop) as extractor, _SignalHandlers(stop):
            for record in run_verify(conn, sources, list(ids) or None, extractor, stop):
                if source_name and record["source"] != source_name:
                    continue
                checked += 1
                seen.add(record["id"])
                bad += not record["ok"]
                if show_all or not record["ok"]:
                    shown.append(record)
    except Interrupted as exc:
        click.echo(f"interrupted after {checked} articles", err=True)
        raise click.exceptions.Exit(exc.exit_code) from None
    finally:
        conn.close()
    missing = [i for i in ids if i not in seen]
    if missing and not source_name:
        raise UsageError(f"no article with id {missing[0]}")
    if shown or fmt != "table":
        _emit(shown, fmt, _fields(fields, available), available=available,
              columns=["id", "source", "raw", "row", "text", "detail"])
    if bad or sys.stderr.isatty():
        _say(f"verified {checked:,} articles: {checked - bad:,} ok, {bad:,} with problems")
    if bad:
        raise click.exceptions.Exit(EXIT_PARTIAL)


def _all_source_names(config: Any) -> tuple[str, ...]:
    """Every source an archive's articles may name: built-in and declared, enabled or not."""
    from ipnews.sources import source_names

    return tuple(dict.fromkeys([*source_names(), *config.sources]))


@cli.command()
@click.argument("archives", nargs=-1, required=True, metavar="OTHER.db...",
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something failed.")
@common_options
def merge(archives: tuple[Path, ...], quiet: bool, db_option: str | None,
          config_option: str | None) -> None:
    """Merge other archives into this one (--db), by the rules of a fetch.

    Every text of every story (each version) is saved in the order it was captured,
    across all the files given: the same URL is one article whose versions interleave
    by time, the same text under another URL is a duplicate, and merging a file twice
    adds nothing. Captures, their runs and the other addresses of each story come
    along. The other archives are only read (and locked against a fetch meanwhile).

    \b
    Example:
        ipnews merge part-*.db --db all.db
    """
    from ipnews.lock import RunLock
    from ipnews.pipeline import Stop

    _config, db = _setup(config_option, db_option, quiet=quiet)
    for path in archives:
        if path.exists() and db.exists() and os.path.samefile(path, db):
            raise UsageError(f"{path} is the archive being merged into (--db)")
    stop = Stop()
    progress = _progress_printer() if sys.stderr.isatty() and not quiet else None
    with contextlib.ExitStack() as stack:
        for path in dict.fromkeys(archives):
            if not path.exists():
                raise StorageError(f"database not found: {path}")
            stack.enter_context(RunLock(path))
        stack.enter_context(RunLock(db))
        stack.enter_context(_SignalHandlers(stop))
        archive = _open_archive(db, quiet)
        stack.callback(archive.close)
        try:
            with _consistent(archive, progress, "text", "merge again to finish"):
                counts = archive.merge_many(
                    list(dict.fromkeys(archives)), stop,
                    (lambda n: progress(f"merging: {n:,} texts")) if progress else None)
        finally:
            _clear_progress(progress)
    if not quiet or counts["damaged"]:
        _say(f"merged {len(set(archives))} archive{'s' * (len(set(archives)) > 1)}: "
             f"{counts['texts']:,} texts: {counts['new']:,} new, {counts['updated']:,} updated "
             f"(versions), {counts['unchanged']:,} unchanged, {counts['duplicate']:,} "
             f"duplicate; {counts['runs']:,} runs, {counts['links']:,} other addresses, "
             f"{counts['pages']:,} further pages")
    if counts["damaged"]:
        _say(f"{counts['damaged']} damaged captures were not copied (their texts were); "
             "`ipnews check --db OTHER.db` names them")
        raise click.exceptions.Exit(EXIT_PARTIAL)


# --- check / backup ------------------------------------------------------------------------
@cli.command()
@common_options
def check(db_option: str | None, config_option: str | None) -> None:
    """Run SQLite's and FTS5's integrity checks and verify the raw captures (changes
    nothing).

    \b
    Example:
        ipnews check && echo archive ok
    """
    from ipnews.store import integrity_problems, open_reader

    _config, db = _setup(config_option, db_option, strict=False)
    conn = open_reader(db, for_check=True)
    notes: list[str] = []
    try:
        problems = integrity_problems(conn, db, notes)
    finally:
        conn.close()
    for note in notes:
        _say(f"note: {note}")
    if problems:
        for p in problems:
            _say(p)
        raise click.exceptions.Exit(EXIT_STORAGE)
    click.echo(f"ok: {db}", err=True)


@cli.command()
@click.argument("dest", type=click.Path(dir_okay=False, writable=True))
@click.option("--force", is_flag=True, help="Overwrite DEST if it exists.")
@common_options
def backup(dest: str, force: bool, db_option: str | None, config_option: str | None) -> None:
    """Copy the archive safely, even while a fetch runs (SQLite's backup API).

    \b
    Example:
        ipnews backup ~/backups/ipnews-$(date +%F).db
    """
    from ipnews.store import backup_to

    _config, db = _setup(config_option, db_option, strict=False)
    target = Path(dest)
    if target.is_symlink():
        raise UsageError(f"{target} is a symbolic link; not writing through it")
    if target.exists() and not force:
        raise UsageError(f"{target} exists (use --force to overwrite)")
    if target.exists() and not target.is_file():
        raise UsageError(f"{target} is not a regular file; not overwriting it")
    if target.exists() and db.exists() and os.path.samefile(target, db):
        raise UsageError(f"{target} is the archive itself; back it up to another file")
    conn = _open_reader(db)
    try:
        backup_to(conn, target, db)
    finally:
        conn.close()


# --- entry point ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Run the CLI and turn every failure into one line on stderr and an exit code."""
    global _DEBUG
    args = sys.argv[1:] if argv is None else argv
    _DEBUG = "--debug" in args or os.environ.get("IPNEWS_DEBUG") == "1"
    _reopen_closed_streams()
    sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    code = EXIT_OK
    try:
        # Without standalone mode click returns an Exit's code instead of raising it.
        result = cli.main(args=args, prog_name="ipnews", standalone_mode=False)
        code = result if isinstance(result, int) else EXIT_OK
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE
    except IpnewsError as exc:
        if _DEBUG:
            import logging

            logging.getLogger("ipnews").exception("error")
        _say(f"ipnews: {exc}")
        code = exc.exit_code
    except BrokenPipeError:
        code = EXIT_OK
    except OSError as exc:
        if _DEBUG or not _is_output_error(exc):
            raise
        _say(f"ipnews: cannot write the output: {exc.strerror}")
        _discard_stdout()
        code = EXIT_STORAGE
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    except Exception as exc:
        if _DEBUG:
            raise
        _say(f"ipnews: internal error: {type(exc).__name__}: {exc} "
             "(run again with --debug for the traceback)")
        code = EXIT_BUG
    code = _flush_stdout(code)
    sys.exit(code)


def _is_output_error(exc: OSError) -> bool:
    """Disk full (`> /dev/full`) or an I/O error while writing our output."""
    import errno

    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG)


def _flush_stdout(code: int) -> int:
    """Flush now, so a reader that went away (`| head -1`) is noticed here, quietly, and
    a full disk is reported as such (exit 4) rather than as a bug at interpreter exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
    except OSError as exc:
        if not _is_output_error(exc):
            raise
        _say(f"ipnews: cannot write the output: {exc.strerror}")
        _discard_stdout()
        return EXIT_STORAGE
    return code


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that nothing buffered fails again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _reopen_closed_streams() -> None:
    """A command started with stdout or stderr closed (`>&-`, `2>&-` in a cron line) must
    still work: /dev/null takes the closed descriptor, or the next file opened, perhaps
    the archive itself, would take it and receive our output."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", encoding="utf-8",  # noqa: SIM115
                                     closefd=False))

