"""Many hosts: a nightly `ipnews fetch` over N sources on N hosts should take about as long as
its slowest source, not the sum of them all (performance.md: at most 1.6x the slowest single
source, with the real politeness delay of 1 s between two requests to one host).

Eight small synthetic news sites, each on its own loopback address (127.0.0.2 ... 127.0.0.9,
one stdlib HTTP server each, in this process), are declared as eight sources in a config
file. The sites differ in size on purpose, so that one of them is the slowest. Then:
- with `delay = 1`: `ipnews fetch` over all of them at once (the Runner: one thread per
  host), and each source alone (`ipnews fetch siteN`), each into a new archive;
- with the delays off on both sides: `ipnews fetch --delay 0` over all of them against
  trafilatura's own command line (`trafilatura -i urls.txt`) on the same article pages.

The article pages are bench/mirror.py's: the real SHINE page template (~65 KB of markup,
scripts and hidden blocks) filled with bench/corpus.py's articles, so that extraction does
real work; the listing pages are plain cards with a "next" link, read through the selectors
the config declares.
"""

from __future__ import annotations

import html
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import corpus
import mirror
from measure import Child, Row, check, child_env, ipnews_argv, run_child, verdict

RATIO_TARGET = 1.6  # all at once / the slowest source alone (performance.md)
PER_PAGE = 10  # cards per listing page: sites of more than 10 articles have two pages
FIRST_ADDRESS = 2  # site k is served on 127.0.0.(k + FIRST_ADDRESS)
# Each site draws its articles from its own range of corpus indices: the same text on two
# sites would be stored once (a duplicate), and its source would seem to lack articles.
INDEX_STRIDE = 1_000

# What the config says about every site: where a card, its headline and date, the next
# listing page and an article's fields are. A listing's own path is excluded by default,
# but "page2.html" would look like an article without the pattern.
SELECTORS = {
    "article_pattern": r"/news/\d{10}/",
    "card": "div.card", "card_title": "h2", "card_date": "time@datetime", "next": "a.next",
    "headline": "h1", "date": "meta:ArticlePublishDate", "date_format": "%Y-%m-%d %H:%M",
    "authors": ".authorList .author span.name", "summary": ".m-quote .q",
    "body": "div.content",
}


# --- the sites ----------------------------------------------------------------------------
@dataclass
class Site:
    name: str  # the source's name, e.g. "site1"; its canonical host is site1.example
    pages: dict[str, bytes]  # path -> page (listing pages and articles)
    articles: list[str]  # article paths, newest first

    @property
    def home(self) -> str:
        return f"http://{self.name}.example"


def _listing(site: str, cards: list[tuple[corpus.Article, str]], next_path: str | None) -> str:
    items = "".join(
        f'<div class="card"><a href="/{path}/"><h2>{html.escape(a.title)}</h2></a>'
        f'<time datetime="{a.published_at}">{a.published:%Y-%m-%d}</time>'
        f'<p>{html.escape(a.summary)}</p></div>\n' for a, path in cards)
    more = f'<a class="next" href="/{next_path}">Older stories</a>' if next_path else ""
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{site} news</title>'
            f"</head><body><h1>{site}: news</h1>\n{items}{more}</body></html>")


def make_sites(sizes: tuple[int, ...], seed: int = corpus.DEFAULT_SEED) -> list[Site]:
    """Site k holds sizes[k] articles; deterministic for a seed. In memory: ~65 KB a page."""
    c = corpus.Corpus(seed)
    template = mirror.article_template()
    sites = []
    for k, n in enumerate(sizes):
        site = Site(f"site{k + 1}", {}, [])
        items = []
        for j in range(n):
            a = c.make(k * INDEX_STRIDE + j)
            items.append((a, f"news/{2_400_000_000 + k * INDEX_STRIDE + j}"))
        items.sort(key=lambda item: item[0].published, reverse=True)  # listings: newest first
        for a, path in items:
            # The template's own links (canonical, og:url) name www.shine.cn: each site's
            # pages name their own site instead, as a real one's do.
            text = template.fill(mirror._article_values(a, path))
            site.pages[f"/{path}/"] = text.replace("https://www.shine.cn",
                                                   site.home).encode("utf-8")
            site.articles.append(f"/{path}/")
        chunks = [items[i:i + PER_PAGE] for i in range(0, len(items), PER_PAGE)]
        for number, chunk in enumerate(chunks, start=1):
            path = "/news/" if number == 1 else f"/news/page{number}.html"
            following = f"news/page{number + 1}.html" if number < len(chunks) else None
            site.pages[path] = _listing(site.name, chunk, following).encode("utf-8")
        sites.append(site)
    return sites


class Host(ThreadingHTTPServer):
    """One site on its own loopback address: keep-alive, 404 for anything else (robots.txt
    included: no rules, so no Crawl-delay), the instant of every request kept."""

    daemon_threads = True

    def __init__(self, site: Site, address: str) -> None:
        super().__init__((address, 0), _Handler)
        self.site = site
        self.times: list[float] = []  # time.monotonic() of each request
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client closing its keep-alive connection at the end of a run is no error

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as both clients use it
    # Headers and body go out in two writes: with Nagle on, the body waits ~40 ms for the
    # client's delayed ACK on every response (tests/server.py has the same switch).
    disable_nagle_algorithm = True
    server: Host

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.times.append(time.monotonic())
        body = self.server.site.pages.get(urlsplit(self.path).path)
        status = 200 if body is not None else 404
        body = body if body is not None else b"<html><body><h1>Not Found</h1></body></html>"
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(sites: list[Site]) -> list[Host]:
    """Each site on its own address. Linux routes all of 127.0.0.0/8 to loopback, so no
    setup is needed; elsewhere (macOS has only 127.0.0.1) this raises, and says so."""
    hosts: list[Host] = []
    try:
        for k, site in enumerate(sites):
            hosts.append(Host(site, f"127.0.0.{k + FIRST_ADDRESS}"))
    except OSError as exc:
        for host in hosts:
            host.close()
        raise RuntimeError(f"cannot bind 127.0.0.{len(hosts) + FIRST_ADDRESS} ({exc}): this "
                           "section needs one loopback address per site") from exc
    return hosts


def write_config(path: Path, hosts: list[Host], delay: float) -> Path:
    from ipnews.sources import source_names

    lines = ["[fetch]", f"delay = {delay:g}"]
    for name in source_names():  # on by default, they would go to the internet
        lines += ["", f"[sources.{name}]", "enabled = false"]
    for host in hosts:
        lines += ["", f"[sources.{host.site.name}]", f'listing = "{host.site.home}/news/"',
                  f'base_url = "{host.url}"']
        lines += [f"{key} = '{value}'" for key, value in SELECTORS.items()]  # literal strings
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the runs -----------------------------------------------------------------------------
@dataclass
class Fetch:
    """One `ipnews fetch` process and what it left in its archive."""

    child: Child
    stored: dict[str, int]  # articles per source
    durations: dict[str, float]  # each source's own time in the run (runs.duration_s)
    requests: list[list[float]] = field(default_factory=list)  # per host: its instants


@dataclass
class Peer:
    """One `trafilatura -i` process and the number of pages it wrote out."""

    child: Child
    written: int
    requests: list[list[float]] = field(default_factory=list)


def span(requests: list[list[float]]) -> float:
    """Seconds from the first to the last request the servers saw in one run: the rate
    over it leaves out process start-up (imports, the extraction processes) and exit."""
    every = [t for host in requests for t in host]
    return max(every) - min(every)


def _archive_counts(db: Path) -> tuple[dict[str, int], dict[str, float]]:
    conn = sqlite3.connect(db)
    try:
        stored = dict(conn.execute("SELECT source, count(*) FROM articles GROUP BY source"))
        durations = dict(conn.execute("SELECT source, duration_s FROM runs"))
    finally:
        conn.close()
    return stored, durations


def ipnews_fetch(work: Path, config: Path, tag: str, names: list[str],
                 delay: float | None = None) -> Fetch:
    db = work / f"fetch-{tag}.db"  # a new archive every time: every article is new
    for side in ("", ".verified", ".lock", "-journal"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    extra = ["--delay", f"{delay:g}"] if delay is not None else []
    child = check(run_child([*ipnews_argv(), "fetch", *names, *extra, "-q", "--config",
                             str(config), "--db", str(db)], child_env(work)),
                  f"ipnews fetch {' '.join(names)}".strip())
    stored, durations = _archive_counts(db)
    db.unlink()
    return Fetch(child, stored, durations)


def trafilatura_fetch(work: Path, urls: Path, settings: Path, tag: str) -> Peer:
    """trafilatura's command line on a list of URLs: it downloads (in one thread per core,
    its default) and extracts in its main thread, one file per page in the output
    directory."""
    out = work / f"trafilatura-{tag}"
    out.mkdir()
    script = Path(sys.executable).parent / "trafilatura"
    child = check(run_child([str(script), "-i", str(urls), "-o", str(out), "--config-file",
                             str(settings)], child_env(work)), "trafilatura -i")
    return Peer(child, sum(1 for _ in out.iterdir()))


# trafilatura waits SLEEP_TIME (5 s) between two requests to one domain and refuses
# non-public addresses by default: the first is the politeness we turn off on both sides,
# the second would refuse the mirror.
TRAFILATURA_SETTINGS = "[DEFAULT]\nSLEEP_TIME = 0\nSSRF_PROTECTION = off\n"


@dataclass
class Result:
    sites: list[Site]
    together: Fetch  # delay 1, all sources in one run
    alone: dict[str, Fetch]  # delay 1, each source in its own run
    ipnews_fast: list[Fetch]  # delay 0, all at once: one per repetition
    trafilatura: list[Peer]  # the same pages through trafilatura's CLI


R = TypeVar("R", Fetch, Peer)


def _watched(hosts: list[Host], run: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """run(*args, **kwargs), with the requests each host saw meanwhile."""
    marks = [len(h.times) for h in hosts]
    result = run(*args, **kwargs)
    result.requests = [h.times[m:] for h, m in zip(hosts, marks, strict=True)]
    return result


def measure_hosts(sizes: tuple[int, ...], compare_runs: int,
                  log: Callable[[str], None] = print) -> Result:
    sites = make_sites(sizes)
    hosts = serve(sites)
    try:
        with tempfile.TemporaryDirectory(prefix="ipnews-bench-hosts-") as tmp:
            work = Path(tmp)
            config = write_config(work / "config.toml", hosts, delay=1)
            log(f"hosts: {len(sites)} sources on {hosts[0].url} ... {hosts[-1].url}, "
                f"{sum(sizes)} articles, delay 1 s: all at once ...")
            together = _watched(hosts, ipnews_fetch, work, config, "together", [])
            alone = {}
            for site in sites:
                log(f"hosts: {site.name} alone ...")
                alone[site.name] = ipnews_fetch(work, config, site.name, [site.name])
            urls = work / "urls.txt"
            urls.write_text("".join(f"{h.url}{p}\n" for h in hosts for p in h.site.articles),
                            encoding="utf-8")
            settings = work / "trafilatura.cfg"
            settings.write_text(TRAFILATURA_SETTINGS, encoding="utf-8")
            fast: list[Fetch] = []
            peer: list[Peer] = []
            for i in range(compare_runs):  # taking turns: load on the machine hits both
                log(f"hosts: delay 0, ipnews and trafilatura ({i + 1}/{compare_runs}) ...")
                fast.append(_watched(hosts, ipnews_fetch, work, config, f"fast-{i}", [],
                                     delay=0))
                peer.append(_watched(hosts, trafilatura_fetch, work, urls, settings, str(i)))
    finally:
        for host in hosts:
            host.close()
    return Result(sites, together, alone, fast, peer)


# --- the rows -----------------------------------------------------------------------------
AREA = "fetch hosts"


def _complete(f: Fetch, sites: list[Site]) -> str:
    """Why a run measured something else than the whole fetch, if it did ("" if not)."""
    missing = [f"{s.name} {f.stored.get(s.name, 0)}/{len(s.articles)}" for s in sites
               if f.stored.get(s.name, 0) != len(s.articles)]
    return f"INVALID: stored {', '.join(missing)}" if missing else ""


def _median_run(runs: list[R]) -> R:
    return sorted(runs, key=lambda r: r.child.wall)[len(runs) // 2]


def _spread(rates: list[float]) -> str:
    if len(rates) < 2:
        return ""
    return f"; median of {len(rates)} runs ({min(rates):.0f}-{max(rates):.0f} pages/s)"


def overlap_rows(r: Result) -> list[Row]:
    sites = r.sites
    walls = {name: f.child.wall for name, f in r.alone.items()}
    slowest = max(walls, key=walls.__getitem__)
    together, total = r.together.child.wall, sum(walls.values())
    ratio = together / walls[slowest]
    invalid = _complete(r.together, sites) or next(
        (why for s in sites if (why := _complete(r.alone[s.name], [s]))), "")
    firsts = [min(host) for host in r.together.requests]
    own = r.together.durations.values()
    sizes = ", ".join(f"{s.name} {len(s.articles)}" for s in sites)
    return [
        Row(AREA, f"fetch of {len(sites)} sources on {len(sites)} hosts at once, delay 1 s: "
            "wall / the slowest source alone",
            f"{ratio:.2f}x ({together:.1f} s vs {slowest} alone {walls[slowest]:.1f} s)",
            f"<= {RATIO_TARGET}x", invalid or verdict(ratio <= RATIO_TARGET),
            f"{sum(len(s.articles) for s in sites)} articles ({sizes}), all stored; hosts "
            f"127.0.0.{FIRST_ADDRESS}-{len(sites) + FIRST_ADDRESS - 1}, one server each; "
            f"the hosts' first requests came within {max(firsts) - min(firsts):.2f} s of "
            f"each other; each source's own time in this run {min(own):.1f}-{max(own):.1f} "
            f"s; CPU {r.together.child.cpu:.1f} s"),
        Row(AREA, "each source alone, delay 1 s: the slowest / the sum",
            f"{walls[slowest]:.1f} s / {total:.1f} s",
            note="whole processes, each into a new archive: "
                 + ", ".join(f"{n} {w:.1f} s" for n, w in walls.items())),
        Row(AREA, "all at once / the sum of the sources alone (today's sequential run)",
            f"{together / total:.2f}x ({together:.1f} s vs {total:.1f} s)",
            note="the sum stands for running the sources one after another, as ipnews did "
                 "before the Runner (it counts the start-up of a process once per source)"),
    ]


def peer_rows(r: Result) -> list[Row]:
    """ipnews and trafilatura's CLI on the same article pages, delays off on both sides."""
    sites = r.sites
    total = sum(len(s.articles) for s in sites)
    fast, peer = _median_run(r.ipnews_fast), _median_run(r.trafilatura)
    ip, tf = fast.child, peer.child
    ip_rate, ip_cpu = total / ip.wall, ip.cpu / total * 1000
    tf_rate, tf_cpu = total / tf.wall, tf.cpu / total * 1000
    return [
        Row(AREA, f"delay 0, the same {len(sites)} sites: `ipnews fetch` (all at once): "
            "article pages/s, CPU per page",
            f"{ip_rate:.0f} pages/s, {ip_cpu:.1f} ms CPU per page", "",
            _complete(fast, sites),
            f"{ip.wall:.2f} s wall, CPU {ip.cpu:.2f} s ({ip.cpu / ip.wall:.0%} of wall; its "
            f"{len(sites)} extraction processes, one per host, included); "
            f"{total / span(fast.requests):.0f} pages/s from the first request to the last "
            f"(start-up left out); also reads "
            f"{sum(len(s.pages) - len(s.articles) for s in sites)} listing pages and "
            f"{len(sites)} robots.txt; stores into SQLite with FTS and keeps the raw page"
            + _spread([total / f.child.wall for f in r.ipnews_fast])),
        Row(AREA, "delay 0, the same article pages: `trafilatura -i urls.txt` (its CLI): "
            "pages/s, CPU per page",
            f"{tf_rate:.0f} pages/s, {tf_cpu:.1f} ms CPU per page", "",
            "" if peer.written == total else f"INVALID: {peer.written} of {total} written",
            f"{tf.wall:.2f} s wall, CPU {tf.cpu:.2f} s ({tf.cpu / tf.wall:.0%} of wall); "
            f"{total / span(peer.requests):.0f} pages/s from the first request to the last; "
            f"ipnews: {ip_rate / tf_rate:.2f}x its rate at {ip_cpu / tf_cpu:.2f}x its CPU "
            "per page. SLEEP_TIME = 0; given the article URLs (no listing, no robots.txt), "
            "it downloads in one thread per core and extracts in one, writing one text file "
            "per page: no metadata, no archive"
            + _spread([total / p.child.wall for p in r.trafilatura])),
    ]


def run(sizes: tuple[int, ...], compare_runs: int,
        log: Callable[[str], None] = print) -> list[Row]:
    result = measure_hosts(sizes, compare_runs, log=log)
    return overlap_rows(result) + peer_rows(result)
