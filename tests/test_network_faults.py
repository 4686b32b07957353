"""Network faults, size bombs, redirects and SSRF, robots and traps: one test per row A1-A12,
B1-B7, B11, C1-C6, D1-D5 of shared/design/reliability-cases.md, each named after its row
(C3 has two: the redirect itself, and unit tests of the guard for the private ranges that
must never see traffic, not even from a test).

Every fault comes from a real server on loopback (tests/hostile.py); the only things
faked are what no loopback server can be: a failing DNS resolver (a patched getaddrinfo)
and the numeric host spellings of C3 (resolved locally, as the C library would, because the
test guard refuses names that are not plain IP literals). Bombs run in a child process whose
peak RSS is asserted (run with -s to see the figures). Only server A of a test is ever in
Settings.allow_private, the way cli.py exempts a configured mirror.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from conftest import rows
from hostile import (
    Exchange,
    HostileServer,
    MiB,
    brotli_bomb,
    chunked_truncated,
    declared_huge,
    drip_body,
    drip_headers,
    encoded,
    garbage,
    hang,
    ok,
    redirect,
    reset_mid_body,
    sequence,
    short_body,
    stacked_gzip,
    status,
    text,
    undeclared_huge,
    zlib_bomb,
)
from ipnews.client import Client, Settings, is_public_address, resolve_public
from ipnews.errors import FetchError
from ipnews.urls import UrlRules, canonical_url

CTPLO_SITE = Path(__file__).resolve().parents[1] / "fixtures" / "ctplo" / "site"
SLUG = "border-recordal-a-low-cost-tool-against-counterfeit-exports"
ARTICLE = f"/blog/{SLUG}"
ARTICLE_URL = f"http://www.ctplo.com{ARTICLE}"  # its canonical URL, as stored
ARTICLE_TITLE = "Border recordal: a low-cost tool against counterfeit exports"
CTPLO_ARTICLES = 9
BOMB_MIB = 128  # zeros; a client that decodes in one go holds all of it at once
RSS_LIMIT_MB = 100  # the design table's figure for B3-B7; the brief allows 150


# --- fixtures and helpers ---------------------------------------------------------------------
@pytest.fixture
def serve():
    """Start HostileServers; all are closed (and their handler errors raised) afterwards."""
    servers: list[HostileServer] = []

    def start(host: str = "127.0.0.1", **kwargs: object) -> HostileServer:
        server = HostileServer(host, **kwargs)
        servers.append(server)
        return server
    yield start
    errors = []
    for server in servers:
        try:
            server.close()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def bombs() -> dict[str, bytes]:
    gz = zlib_bomb(BOMB_MIB, 31)
    return {"gzip": gz, "deflate": zlib_bomb(BOMB_MIB, 15),
            "raw-deflate": zlib_bomb(BOMB_MIB, -15), "br": brotli_bomb(BOMB_MIB),
            "gzip3": stacked_gzip(gz, 3)}


def make_client(*allowed: HostileServer, **settings: object) -> Client:
    """A client with small timeouts that may reach the given servers (and nothing else
    private)."""
    values: dict = {"delay": 0, "backoff": 0.01, "timeout": 2, "deadline": 3, "attempts": 3,
                    "obey_robots": False}
    values.update(settings)
    values.setdefault("allow_private", frozenset(s.netloc for s in allowed))
    return Client(Settings(**values))


def fetch_error(client: Client, url: str, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as info:
        client.get(url, **kwargs)
    return info.value


def closed_port() -> int:
    """A loopback port nobody listens on: bound once, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_fetch(ipnews, tmp_path: Path, *args: str, ctplo: str | None = None,
              shine: str | None = None, **fetch: object):
    """`ipnews fetch` in this process against the given base URLs (those sources only)."""
    settings = {"delay": 0, "backoff": 0.01, "timeout": 2, "deadline": 5, **fetch}
    lines = ["[fetch]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    names = []
    for name, url in (("ctplo", ctplo), ("shine", shine)):
        if url:
            lines += ["", f"[sources.{name}]", f'base_url = "{url}"']
            names.append(name)
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ipnews("fetch", *names, *args, "--db", str(tmp_path / "ipnews.db"),
                  "--config", str(config))


def outcomes(db: Path, url: str) -> set[str]:
    return {o for (o,) in rows(db, "SELECT outcome FROM fetch_log WHERE url = ?", url)}


def stored(db: Path, url: str | None = None) -> int:
    if url is None:
        return rows(db, "SELECT count(*) FROM articles")[0][0]
    return rows(db, "SELECT count(*) FROM articles WHERE url = ?", url)[0][0]


def site_page(path: str) -> bytes:
    return (CTPLO_SITE / path.lstrip("/") / "index.html").read_bytes()


def injected(path: str, html: str) -> object:
    """A route serving the fixture page at path with html added before </body>."""
    body = site_page(path).replace(b"</body>", html.encode("utf-8") + b"</body>", 1)
    return ok(body)


def card(href: str, title: str, date: str = "2018-07-01 10:00:00") -> str:
    """One listing card as the CTPLO fixture pages write them (link, then a meta line)."""
    return (f'<div class="blog-item"><h3 class="item-title"><a href="{href}">{title}</a></h3>'
            f'<p class="item-meta"><span>CTPLO</span> · <span>Published on {date}</span>'
            f' · <span>1 read</span></p></div>')


# The child reports its own peak RSS. Not ru_maxrss: on Linux a child inherits its parent's
# high-water mark through fork and exec, so RUSAGE_SELF in the child (and RUSAGE_CHILDREN in
# the parent) show at least the size of this pytest process. VmHWM is the peak of the
# child's own address space.
PEAK_RSS = r"""
import resource, sys

def peak_rss_mb(children=False):
    try:
        with open("/proc/self/status") as status:
            line = next(l for l in status if l.startswith("VmHWM:"))
        own = int(line.split()[1]) / 1024
    except (OSError, StopIteration):  # not Linux: an upper bound (it includes the parent)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if sys.platform == "darwin":
            own /= 1024
    if not children:
        return own
    # Worker processes the child started: an upper bound, as explained above.
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""

FETCH_CHILD = PEAK_RSS + r"""
import json
import httpx._decoders as decoders

def refuse(self, data):
    raise AssertionError("httpx decoded a body itself; ipnews must read iter_raw()")

# Booby-trap every httpx content decoder: only ipnews's own bounded decoder may run.
for name in dir(decoders):
    cls = getattr(decoders, name)
    if isinstance(cls, type) and issubclass(cls, decoders.ContentDecoder) \
            and cls is not decoders.IdentityDecoder:
        cls.decode = refuse

from ipnews.client import Client, Settings
from ipnews.errors import FetchError

url, allow = sys.argv[1], sys.argv[2]
out = {}
settings = Settings(delay=0, attempts=1, timeout=5, deadline=30, obey_robots=False,
                    allow_private=frozenset({allow}))
with Client(settings) as client:
    try:
        page = client.get(url)
        out.update(status=page.status, size=len(page.body), final_url=page.final_url)
    except FetchError as exc:
        out.update(kind=exc.kind, error=str(exc))
out["peak_rss_mb"] = peak_rss_mb()
print(json.dumps(out))
"""

CLI_CHILD = PEAK_RSS + r"""
import json
from ipnews.cli import main

code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "peak_rss_mb": peak_rss_mb(children=True)}))
"""


def child_env() -> dict[str, str]:
    """The environment of tests/conftest.py's children: the network guard loaded in them too
    (PYTHONPATH reaches tests/guard/sitecustomize.py), no IPNEWS_* from the developer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPNEWS_")}
    guard = str(Path(__file__).resolve().parent / "guard")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (guard, env.get("PYTHONPATH")) if p)
    return env


def in_child(code: str, *args: str, label: str) -> dict:
    """Run code in a fresh interpreter (the network guard loaded) and return the JSON it
    printed last, which holds its peak RSS."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=90, env=child_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\n{label}: child peak RSS {result['peak_rss_mb']:.1f} MB; result {result}")
    return result


def fetch_in_child(server: HostileServer, path: str, label: str) -> dict:
    return in_child(FETCH_CHILD, server.url + path, server.netloc, label=label)


# --- A. Network and HTTP faults ---------------------------------------------------------------
def test_A1_connection_refused_retries_then_fails(serve, ipnews, tmp_path):
    port = closed_port()
    attempts: list[float] = []
    settings = Settings(delay=0, backoff=0.1, attempts=3, obey_robots=False,
                        allow_private=frozenset({f"127.0.0.1:{port}"}))
    with Client(settings, on_request=lambda _url: attempts.append(time.monotonic())) as c:
        err = fetch_error(c, f"http://127.0.0.1:{port}/news")
    assert err.kind == "unreachable"
    assert len(attempts) == 3
    first, second = attempts[1] - attempts[0], attempts[2] - attempts[1]
    assert first >= 0.05 and second >= 0.1  # backoff 0.1 then 0.2, jitter at most -50%

    # The whole CLI: the dead source is recorded as unreachable, the other one is stored.
    site = serve(site=CTPLO_SITE)
    result = run_fetch(ipnews, tmp_path, ctplo=site.url, shine=f"http://127.0.0.1:{port}")
    db = tmp_path / "ipnews.db"
    assert result.code == 3, result.err
    assert stored(db) == CTPLO_ARTICLES
    assert {o for (o,) in rows(db, "SELECT outcome FROM fetch_log WHERE source = 'shine'")} \
        == {"unreachable"}
    assert re.search(r"^shine: .*FAILED", result.err, re.M), result.err
    assert re.search(r"^  listing .*unreachable", result.err, re.M), result.err


@pytest.mark.parametrize("robots", [True, False], ids=["robots-on", "robots-off"])
@pytest.mark.parametrize("via", ["pinned", "allowlisted"])
def test_A2_dns_failure_is_retried_then_recorded(monkeypatch, via, robots):
    lookups: list[str] = []

    def no_dns(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    # "pinned": ipnews resolves the name itself; "allowlisted": a configured mirror, where
    # httpx resolves it and the failure arrives wrapped in a ConnectError.
    allow = frozenset({"news.invalid:8080"}) if via == "allowlisted" else frozenset()
    url = "http://news.invalid:8080/a" if via == "allowlisted" else "http://news.invalid/a"
    with Client(Settings(delay=0, backoff=0.01, attempts=3, obey_robots=robots,
                         allow_private=allow)) as c:
        err = fetch_error(c, url)
        assert err.kind == "dns_error", err
        assert lookups == ["news.invalid"] * 3
        if robots:  # robots.txt failed: the host is skipped for the run, no new lookups
            assert fetch_error(c, url.replace("/a", "/b")).kind == "dns_error"
            assert len(lookups) == 3


def test_A3_no_response_headers_times_out_with_one_retry(serve):
    srv = serve()
    srv.routes["/silent"] = hang()
    start = time.monotonic()
    with make_client(srv, timeout=1, deadline=10, attempts=3) as c:
        err = fetch_error(c, srv.url + "/silent")
    elapsed = time.monotonic() - start
    assert err.kind == "timeout"
    assert srv.stat("/silent").requests == 2  # one retry, not `attempts`
    assert elapsed < 2 * 1 + 2


@pytest.mark.parametrize("where", ["body", "headers"])
def test_A4_slow_drip_is_cut_at_the_deadline(serve, ipnews, tmp_path, where):
    srv = serve()
    # A drip that would end, with a complete response, well after the deadline: without a
    # deadline the fetch succeeds and the test fails.
    srv.routes["/drip"] = drip_body(every=0.2, declared=40) if where == "body" \
        else drip_headers(every=0.2, count=40)
    start = time.monotonic()
    with make_client(srv, timeout=2, deadline=2) as c:
        err = fetch_error(c, srv.url + "/drip")
    elapsed = time.monotonic() - start
    assert err.kind == "timeout" and "deadline exceeded" in str(err), err
    assert srv.stat("/drip").requests == 1  # as slow on a retry: not retried
    assert elapsed < 2 + 2 + 1  # the deadline, at most one read timeout, a margin
    if where == "body":
        site = serve(site=CTPLO_SITE)
        site.routes[ARTICLE] = drip_body(every=0.2, declared=40)
        result = run_fetch(ipnews, tmp_path, ctplo=site.url, deadline=2)
        db = tmp_path / "ipnews.db"
        assert result.code == 3
        assert stored(db, ARTICLE_URL) == 0
        assert stored(db) == CTPLO_ARTICLES - 1
        assert outcomes(db, ARTICLE_URL) == {"timeout"}


def test_A5_reset_mid_body_is_retried_and_nothing_stored(serve, ipnews, tmp_path):
    srv = serve()
    srv.routes["/rst"] = reset_mid_body(declared=100_000, sent=5_000)
    with make_client(srv) as c:
        err = fetch_error(c, srv.url + "/rst")
    assert err.kind == "reset", err
    assert srv.stat("/rst").requests == 3

    site = serve(site=CTPLO_SITE)
    site.routes[ARTICLE] = reset_mid_body()
    result = run_fetch(ipnews, tmp_path, ctplo=site.url)
    db = tmp_path / "ipnews.db"
    assert result.code == 3
    assert stored(db, ARTICLE_URL) == 0
    assert rows(db, "SELECT count(*) FROM captures WHERE url = ?", ARTICLE_URL) == [(0,)]
    assert outcomes(db, ARTICLE_URL) == {"reset"}
    assert site.stat(ARTICLE).requests == 3


def _truncated_gzip() -> object:
    import gzip

    whole = gzip.compress(b"<html><body>" + b"story " * 5000 + b"</body></html>")
    # Content-Length matches what is sent: only the missing end of the gzip stream shows it.
    return encoded(whole[: len(whole) // 2], "gzip")


@pytest.mark.parametrize("variant", ["content-length", "chunked", "gzip-stream"])
def test_A6_truncated_body_is_an_error_never_a_page(serve, variant):
    srv = serve()
    srv.routes["/cut"] = {"content-length": short_body(declared=1_000),
                          "chunked": chunked_truncated(),
                          "gzip-stream": _truncated_gzip()}[variant]
    with make_client(srv) as c:
        err = fetch_error(c, srv.url + "/cut")
    assert err.kind == "truncated", err
    assert srv.stat("/cut").requests == 3  # data loss is retried, like a reset


def test_A7_garbage_response_is_a_protocol_error_retried_once(serve):
    srv = serve()
    srv.routes["/garbage"] = garbage()
    with make_client(srv, attempts=3) as c:
        err = fetch_error(c, srv.url + "/garbage")
    assert err.kind == "protocol_error", err
    assert srv.stat("/garbage").requests == 2


A8_CASES = {
    "503-503-200": ([status(503), status(503), ok()], 3, None),
    "408-200": ([status(408), ok()], 2, None),
    "500-always": ([status(500)], 3, "http_500"),
    "502-always": ([status(502)], 3, "http_502"),
    "501-not-retried": ([status(501)], 1, "http_501"),
    "505-not-retried": ([status(505)], 1, "http_505"),
}


@pytest.mark.parametrize("case", list(A8_CASES))
def test_A8_server_errors_are_retried_with_backoff(serve, ipnews, tmp_path, case):
    answers, expected_requests, kind = A8_CASES[case]
    srv = serve()
    srv.routes["/page"] = sequence(*answers)
    with make_client(srv) as c:
        if kind is None:
            assert c.get(srv.url + "/page").status == 200
        else:
            assert fetch_error(c, srv.url + "/page").kind == kind
    assert srv.stat("/page").requests == expected_requests
    if case in ("503-503-200", "500-always"):  # and through the whole CLI
        site = serve(site=CTPLO_SITE)
        site.routes[ARTICLE] = sequence(status(503), status(503), site.serve_site) \
            if case == "503-503-200" else status(500)
        result = run_fetch(ipnews, tmp_path, ctplo=site.url)
        db = tmp_path / "ipnews.db"
        assert site.stat(ARTICLE).requests == 3
        if case == "503-503-200":
            assert result.code == 0, result.err
            assert stored(db, ARTICLE_URL) == 1
        else:
            assert result.code == 3
            assert stored(db, ARTICLE_URL) == 0
            assert outcomes(db, ARTICLE_URL) == {"http_500"}


def _http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now),
                           usegmt=True)


@pytest.mark.parametrize("case", ["delta-seconds", "past-date", "future-date", "invalid",
                                  "negative", "over-cap-defers-host", "per-host"])
def test_A9_retry_after_is_honoured_per_host(serve, case):
    srv = serve()
    backoff = {"past-date": 5.0, "invalid": 0.6, "negative": 0.6}.get(case, 0.01)
    value = {"delta-seconds": "1", "past-date": "Wed, 21 Oct 2015 07:28:00 GMT",
             "future-date": _http_date(3), "invalid": "soon", "negative": "-1",
             "over-cap-defers-host": "86400", "per-host": "1"}[case]
    limited = status(429, headers=[("Retry-After", value)])
    srv.routes["/a"] = sequence(limited, ok())
    srv.routes["/b"] = ok()
    start = time.monotonic()
    with make_client(srv, backoff=backoff, attempts=1 if case == "per-host" else 3) as c:
        if case == "over-cap-defers-host":
            err = fetch_error(c, srv.url + "/a")
            assert err.kind == "deferred" and err.status == 429
            assert fetch_error(c, srv.url + "/b").kind == "deferred"  # the whole host
            assert time.monotonic() - start < 1  # no sleep
            assert srv.requests == 1
            return
        if case == "per-host":  # the pause applies to the next URL on the host as well
            assert fetch_error(c, srv.url + "/a").kind == "http_429"
            c.get(srv.url + "/b")
            assert srv.stat("/b").times[0] - srv.stat("/a").times[0] >= 1.0
            return
        assert c.get(srv.url + "/a").status == 200
    (gap,) = srv.stat("/a").gaps()
    if case == "delta-seconds":
        assert gap >= 1.0
    elif case == "past-date":
        assert gap < 2.0  # at once, not after the 2.5-7.5 s backoff
    elif case == "future-date":
        assert gap >= 1.5  # the date has one-second resolution: 2-3 s away
    else:  # unusable value: the default backoff (0.6 s +-50%), not "at once"
        assert gap >= 0.29


def test_A10_404_and_410_are_not_retried_and_remembered(serve, ipnews, tmp_path):
    srv = serve()
    for code in (403, 404, 410):
        srv.routes[f"/{code}"] = status(code)
    with make_client(srv) as c:
        kinds = [fetch_error(c, f"{srv.url}/{code}").kind for code in (403, 404, 410)]
    assert kinds == ["forbidden", "not_found", "gone"]
    assert [srv.stat(f"/{code}").requests for code in (403, 404, 410)] == [1, 1, 1]

    site = serve(site=CTPLO_SITE)
    gone_slug = "online-video-platform-fined-for-streaming-pirated-films"
    site.routes[ARTICLE] = status(404)
    site.routes[f"/blog/{gone_slug}"] = status(410)
    first = run_fetch(ipnews, tmp_path, ctplo=site.url)
    second = run_fetch(ipnews, tmp_path, ctplo=site.url)
    assert (first.code, second.code) == (3, 0), (first.err, second.err)
    assert site.stat(ARTICLE).requests == 1
    assert site.stat(f"/blog/{gone_slug}").requests == 1
    db = tmp_path / "ipnews.db"
    assert dict(rows(db, "SELECT url, status FROM url_status")) == {
        ARTICLE_URL: "not_found", f"http://www.ctplo.com/blog/{gone_slug}": "gone"}


@pytest.mark.parametrize("case", ["untrusted-ca", "wrong-host", "trusted"])
def test_A11_tls_failure_is_reported_and_never_downgraded(serve, tmp_path, case):
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("other.example" if case == "wrong-host" else "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    srv = serve(tls=context)
    srv.routes["/"] = ok()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    extra_ca = None if case == "untrusted-ca" else str(bundle)
    with make_client(srv, ca_bundle=extra_ca) as c:
        if case == "trusted":  # the same server is fine once its CA is configured
            assert c.get(srv.url + "/").status == 200
            assert srv.stat("/").requests == 1
            return
        err = fetch_error(c, srv.url + "/")
    assert err.kind == "tls", err
    assert str(err).startswith("TLS verification failed for 127.0.0.1")
    assert srv.idle()
    # One handshake attempt, refused by the client; no retry, no unverified second try.
    assert (srv.connections, srv.handshakes, srv.requests) == (1, 0, 0)


def test_A12_one_request_at_a_time_with_a_delay_per_host(serve):
    srv = serve()
    for path in ("/p1", "/p2", "/p3", "/end"):
        srv.routes[path] = ok()
    srv.routes["/r1"] = redirect("/r2")
    srv.routes["/r2"] = redirect("/end")
    srv.routes["/flaky"] = sequence(status(503), ok())
    delay = 0.25
    with make_client(srv, delay=delay, backoff=0.01) as c:
        for path in ("/p1", "/r1", "/p2", "/flaky", "/p3"):
            c.get(srv.url + path)
    arrivals = [t for t, _target in srv.arrivals]
    assert [target for _t, target in srv.arrivals] == [
        "/p1", "/r1", "/r2", "/end", "/p2", "/flaky", "/flaky", "/p3"]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # Redirect hops and the retry after a 503 (backoff 0.01 s) wait like any request.
    assert min(gaps) >= delay, gaps
    assert srv.max_in_flight == 1


# --- B. Size, decompression and memory bombs --------------------------------------------------
def test_B1_declared_huge_body_is_refused_before_reading(serve):
    srv = serve()
    srv.routes["/huge"] = declared_huge(declared=50 * MiB, piece=16_384, every=0.01)
    with make_client(srv) as c:
        err = fetch_error(c, srv.url + "/huge")
    assert err.kind == "too_large"
    assert "50.0 MiB > 10 MiB" in str(err)
    assert srv.idle()
    assert srv.stat("/huge").bytes_sent < 1 * MiB


@pytest.mark.parametrize("framing", ["chunked", "until-close"])
def test_B2_undeclared_huge_body_stops_at_the_cap(serve, framing):
    srv = serve()
    srv.routes["/huge"] = undeclared_huge(total=50 * 1000 * 1000, chunked=framing == "chunked")
    result = fetch_in_child(srv, "/huge", label=f"B2 {framing} 50 MB")
    assert result["kind"] == "too_large", result
    assert result["peak_rss_mb"] < RSS_LIMIT_MB
    assert srv.idle()
    assert srv.stat("/huge").bytes_sent < 40 * MiB  # aborted, not read to the end


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_B3_gzip_and_deflate_bombs_stop_at_the_cap(serve, bombs, encoding):
    srv = serve()
    srv.routes["/bomb"] = encoded(bombs[encoding], encoding.removeprefix("raw-"))
    result = fetch_in_child(srv, "/bomb", label=f"B3 {encoding} bomb "
                            f"({len(bombs[encoding]):,} B -> {BOMB_MIB} MiB)")
    assert result["kind"] == "too_large", result
    assert "decoded size exceeds cap" in result["error"]
    assert result["peak_rss_mb"] < RSS_LIMIT_MB


@pytest.mark.parametrize("encoding", ["br", "zstd"])
def test_B4_brotli_bomb_is_bounded_and_zstd_refused(serve, bombs, encoding):
    srv = serve()
    body = bombs["br"] if encoding == "br" else b"\x28\xb5\x2f\xfd" + bytes(1000)
    srv.routes["/bomb"] = encoded(body, encoding)
    result = fetch_in_child(srv, "/bomb", label=f"B4 {encoding} bomb ({len(body):,} B)")
    if encoding == "br":
        assert result["kind"] == "too_large", result
        assert "decoded size exceeds cap" in result["error"]
    else:  # never asked for, never decoded
        assert result["kind"] == "bad_encoding", result
        assert "unsupported content-encoding zstd" in result["error"]
    assert result["peak_rss_mb"] < RSS_LIMIT_MB


@pytest.mark.parametrize("chain", ["gzip, gzip, gzip", "br, gzip"])
def test_B5_stacked_encodings_are_refused(serve, bombs, chain):
    srv = serve()
    srv.routes["/stacked"] = encoded(bombs["gzip3"], chain)
    result = fetch_in_child(srv, "/stacked", label=f"B5 {chain!r} ({len(bombs['gzip3'])} B)")
    assert result["kind"] == "bad_encoding", result
    assert "content-encoding chain" in result["error"]
    assert result["peak_rss_mb"] < RSS_LIMIT_MB


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_B6_bomb_in_a_redirect_body_is_never_decoded(serve, bombs, encoding):
    srv = serve()
    srv.routes["/moved"] = redirect("/ok", 302, body=bombs[encoding],
                                    headers=[("Content-Encoding", encoding)])
    srv.routes["/ok"] = ok()
    result = fetch_in_child(srv, "/moved", label=f"B6 302 with a {encoding} bomb body")
    assert result.get("status") == 200, result
    assert result["final_url"] == srv.url + "/ok"
    assert result["peak_rss_mb"] < RSS_LIMIT_MB


def test_B7_compressed_bytes_served_as_html_are_not_html(serve, bombs, tmp_path):
    site = serve(site=CTPLO_SITE)
    site.routes[ARTICLE] = encoded(bombs["gzip"], None)  # no Content-Encoding: raw bytes
    config = tmp_path / "config.toml"
    config.write_text(f'[fetch]\ndelay = 0\n\n[sources.ctplo]\nbase_url = "{site.url}"\n',
                      encoding="utf-8")
    db = tmp_path / "ipnews.db"
    result = in_child(CLI_CHILD, "fetch", "ctplo", "--db", str(db), "--config", str(config),
                      label="B7 gzip bomb served as text/html, whole CLI")
    assert result["code"] == 3
    assert outcomes(db, ARTICLE_URL) == {"not_html"}
    assert stored(db) == CTPLO_ARTICLES - 1
    assert result["peak_rss_mb"] < RSS_LIMIT_MB


def test_B11_non_html_is_skipped_on_its_headers_and_remembered(serve, ipnews, tmp_path):
    pdf = declared_huge(declared=5 * MiB, content_type="application/pdf")
    srv = serve()
    srv.routes["/report.pdf"] = pdf
    with make_client(srv) as c:
        err = fetch_error(c, srv.url + "/report.pdf")
    assert err.kind == "not_html"
    assert "unsupported type application/pdf" in str(err)
    assert srv.idle()
    assert srv.stat("/report.pdf").bytes_sent < 1 * MiB  # the headers, not the document

    site = serve(site=CTPLO_SITE)
    site.routes[ARTICLE] = pdf
    run_fetch(ipnews, tmp_path, ctplo=site.url)
    run_fetch(ipnews, tmp_path, ctplo=site.url)
    assert site.stat(ARTICLE).requests == 1  # not fetched again the next run
    assert rows(tmp_path / "ipnews.db", "SELECT status FROM url_status WHERE url = ?",
                ARTICLE_URL) == [("not_html",)]


# --- C. Redirects, schemes and SSRF -----------------------------------------------------------
@pytest.mark.parametrize("case", ["to-itself", "a-b-a", "chain-of-7"])
def test_C1_redirect_loops_and_long_chains_stop(serve, case):
    srv = serve()
    srv.routes["/ok"] = ok()
    if case == "to-itself":
        srv.routes["/start"] = redirect("/start")
    elif case == "a-b-a":
        srv.routes["/start"] = redirect("/b")
        srv.routes["/b"] = redirect("/start")
    else:
        srv.routes["/start"] = redirect("/c1")
        for i in range(1, 7):
            srv.routes[f"/c{i}"] = redirect(f"/c{i + 1}" if i < 6 else "/ok")
    with make_client(srv, max_redirects=5) as c:
        err = fetch_error(c, srv.url + "/start")
    assert err.kind == "redirect_loop", err
    expected = {"to-itself": 1, "a-b-a": 2, "chain-of-7": 6}[case]  # and no retry
    assert srv.requests == expected
    assert srv.stat("/ok").requests == 0


@pytest.mark.parametrize("location", [
    "file:///etc/passwd", "data:text/html,<h1>hi</h1>", "ftp://127.0.0.1/x",
    "javascript:alert(1)", "gopher://127.0.0.1:70/", "http://[::1",
    "http://127.0.0.1:99999/", "http://256.1.1.1/"])
def test_C2_redirect_to_other_schemes_or_garbage_is_refused(serve, location):
    srv = serve()
    srv.routes["/go"] = redirect(location)
    with make_client(srv) as c:
        err = fetch_error(c, srv.url + "/go")
    assert err.kind == "bad_redirect", err
    assert "root:" not in str(err)
    assert srv.requests == 1


def _numeric_resolver(real):
    """getaddrinfo for numeric hosts only, parsed locally the way the C library does
    (inet_aton takes 2130706433, 0x7f000001, 127.1, 0177.0.0.1): no DNS, ever."""
    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        try:
            address = socket.inet_ntoa(socket.inet_aton(name))
        except (OSError, TypeError):
            try:
                address = str(ipaddress.ip_address(name))
            except ValueError:
                return real(host, port, *args, **kwargs)
        if ":" in address:
            return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                     (address, port, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]
    return getaddrinfo


LOOPBACK_SPELLINGS = ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "2130706433",
                      "0x7f000001", "127.1", "0177.0.0.1", "localhost"]
# httpx will not even build a URL for an octal dotted quad: refused as a malformed redirect.
MALFORMED_SPELLINGS = {"0177.0.0.1"}


@pytest.mark.parametrize("ports", ["default-ports", "port-allowed"])
@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_C3_redirect_to_an_internal_address_is_refused(serve, monkeypatch, spelling, ports):
    monkeypatch.setattr(socket, "getaddrinfo", _numeric_resolver(socket.getaddrinfo))
    a = serve()
    b = serve()  # the internal service the redirect aims at
    try:
        b6: HostileServer | None = serve("::1")
    except OSError:  # no IPv6 loopback here: the refusal is still asserted below
        b6 = None
    port = b6.port if spelling == "[::1]" and b6 else b.port
    a.routes["/go"] = redirect(f"http://{spelling}:{port}/admin")
    # "port-allowed" takes the port rule out of the way: the address check alone must hold.
    extra = {"allowed_ports": frozenset({80, 443, port})} if ports == "port-allowed" else {}
    with make_client(a, **extra) as c:
        err = fetch_error(c, a.url + "/go")
    if spelling in MALFORMED_SPELLINGS:
        assert err.kind == "bad_redirect", err
    else:
        assert err.kind == "ssrf_refused", err
        if ports == "port-allowed":
            assert "non-public address" in str(err)
    assert b.connections == 0
    assert b6 is None or b6.connections == 0
    assert a.requests == 1


PRIVATE_ADDRESSES = [
    "127.0.0.1", "127.255.255.254", "::1", "0.0.0.0", "::", "10.0.0.1", "10.255.255.255",
    "172.16.0.1", "172.31.255.254", "192.168.1.1", "100.64.0.1", "100.127.255.254",
    "169.254.169.254", "fd00::1", "fc00::1", "fe80::1", "fe80::1%eth0", "fec0::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::", "2002:a9fe:a9fe::",
    "::127.0.0.1", "::ffff:0:7f00:1", "2001:db8::1", "192.0.2.1", "198.18.0.1",
    "224.0.0.1", "ff02::1", "255.255.255.255", "240.0.0.1", "not-an-address", ""]
PUBLIC_ADDRESSES = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2001:4860:4860::8888",
                    "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


def test_C3_guard_refuses_every_private_range(monkeypatch):
    # Unit tests only: no traffic is ever sent to these addresses.
    assert [a for a in PRIVATE_ADDRESSES if is_public_address(a)] == []
    assert [a for a in PUBLIC_ADDRESSES if not is_public_address(a)] == []

    answers: dict[str, list[str]] = {
        "metadata.test": ["169.254.169.254"],
        "intranet.test": ["10.1.2.3"],
        "nat64.test": ["64:ff9b::7f00:1"],
        "rebind.test": ["93.184.216.34", "192.168.0.10"],  # one public, one private
        "public.test": ["93.184.216.34", "2606:4700:4700::1111"],
    }

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in answers[host]]
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    for host in ("metadata.test", "intranet.test", "nat64.test", "rebind.test"):
        with pytest.raises(FetchError) as info:
            resolve_public(host, 80)
        assert info.value.kind == "ssrf_refused", host
    assert resolve_public("public.test", 443) == "93.184.216.34"


def test_C4_credentials_never_follow_a_redirect_to_another_origin(serve):
    a, b = serve(), serve()
    a.routes["/start"] = redirect(f"{b.url}/landing", headers=[
        ("Set-Cookie", "sid=from-a-secret; Path=/")])
    a.routes["/userinfo"] = redirect(f"http://user:pw-secret@{b.netloc}/landing")
    a.routes["/same"] = redirect("/next")
    a.routes["/next"] = ok()
    b.routes["/landing"] = ok()
    secret = {"Authorization": "Bearer token-secret", "Cookie": "session=cookie-secret"}
    with make_client(a, b) as c:
        for path in ("/start", "/userinfo", "/same"):
            assert c.get(a.url + path, headers=secret).status == 200
    sent_to_a = a.stat("/start").headers[0]
    assert sent_to_a["authorization"] == "Bearer token-secret"  # they are sent at all
    assert a.stat("/next").headers[0]["authorization"] == "Bearer token-secret"  # same origin
    for headers in b.stat("/landing").headers:
        assert "authorization" not in headers and "cookie" not in headers, headers
        assert "secret" not in json.dumps(headers)
        assert "user" not in headers["host"]
    assert b.stat("/landing").requests == 2


def test_C5_meta_refresh_and_script_redirects_are_not_followed(serve, ipnews, tmp_path):
    b = serve()  # the internal address the page points at
    site = serve(site=CTPLO_SITE)
    lure = (f'<meta http-equiv="refresh" content="0;url=http://127.0.0.1:{b.port}/">'
            f'<script>location.href="http://127.0.0.1:{b.port}/js";</script>'
            f'<noscript><meta http-equiv="refresh" content="0; URL={b.url}/ns"></noscript>')
    site.routes[ARTICLE] = injected(ARTICLE, lure)
    result = run_fetch(ipnews, tmp_path, ctplo=site.url)
    assert result.code == 0, result.err
    assert site.stat(ARTICLE).requests == 1
    assert stored(tmp_path / "ipnews.db", ARTICLE_URL) == 1
    assert b.connections == 0


def test_C6_offsite_redirect_is_not_followed(serve):
    a = serve()
    try:
        b = serve("127.0.0.2")  # loopback, but another host
    except OSError:
        pytest.skip("127.0.0.2 cannot be bound here")
    a.routes["/moved"] = redirect(f"{b.url}/story")
    b.routes["/story"] = ok()
    with make_client(a, b) as c:  # b is reachable: only the offsite rule stops the hop
        err = fetch_error(c, a.url + "/moved", allowed_hosts=frozenset({"127.0.0.1"}))
        assert err.kind == "offsite_redirect", err
        assert "offsite redirect to 127.0.0.2" in str(err)
        assert b.connections == 0
        assert a.stat("/moved").requests == 1
        # The same hop within the allowed hosts is followed: the refusal above was the rule.
        page = c.get(a.url + "/moved", allowed_hosts=frozenset({"127.0.0.1", "127.0.0.2"}))
        assert page.final_url == f"{b.url}/story"


# --- D. Politeness, robots.txt and crawler traps ----------------------------------------------
def test_D1_robots_disallow_and_crawl_delay_are_obeyed(serve, ipnews, tmp_path):
    site = serve(site=CTPLO_SITE)
    site.routes["/robots.txt"] = text(f"User-agent: *\nDisallow: {ARTICLE}\nCrawl-delay: 0.2\n")
    run_fetch(ipnews, tmp_path, ctplo=site.url)
    db = tmp_path / "ipnews.db"
    assert site.stat(ARTICLE).requests == 0
    assert outcomes(db, ARTICLE_URL) == {"robots"}
    assert stored(db) == CTPLO_ARTICLES - 1
    assert site.stat("/robots.txt").requests == 1  # once per run
    arrivals = [t for t, _ in site.arrivals]
    assert len(arrivals) == CTPLO_ARTICLES + 2  # robots.txt, 2 listing pages, 8 articles
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= 0.2

    # A redirect to another host is checked against that host's robots.txt.
    a = serve()
    try:
        b = serve("127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 cannot be bound here")
    a.routes["/robots.txt"] = text("User-agent: *\nAllow: /\n")
    a.routes["/moved"] = redirect(f"{b.url}/private/story")
    b.routes["/robots.txt"] = text("User-agent: *\nDisallow: /private/\n")
    b.routes["/private/story"] = ok()
    with make_client(a, b, obey_robots=True) as c:
        assert fetch_error(c, a.url + "/moved").kind == "robots"
    assert b.stat("/robots.txt").requests == 1
    assert b.stat("/private/story").requests == 0


ROBOTS_RULES = "User-agent: *\nDisallow: /private/\n"


def _robots_variant(srv: HostileServer, variant: str) -> None:
    if variant == "404":
        srv.routes["/robots.txt"] = status(404)
    elif variant == "503":
        srv.routes["/robots.txt"] = status(503)
    elif variant == "timeout":
        srv.routes["/robots.txt"] = hang()
    elif variant == "huge":  # rules first, then 2 MiB more than anyone should parse
        padding = "# " + "x" * 97 + "\n"
        srv.routes["/robots.txt"] = text(ROBOTS_RULES + padding * (2 * MiB // 100))
    elif variant == "redirect":  # four hops: RFC 9309 asks crawlers to follow five
        srv.routes["/robots.txt"] = redirect("/r1.txt", 301)
        srv.routes["/r1.txt"] = redirect("/r2.txt", 302)
        srv.routes["/r2.txt"] = redirect("/r3.txt", 307)
        srv.routes["/r3.txt"] = redirect("/rules.txt", 308)
        srv.routes["/rules.txt"] = text(ROBOTS_RULES, content_type="application/octet-stream")


@pytest.mark.parametrize("variant", ["404", "503", "timeout", "huge", "redirect"])
def test_D2_robots_txt_status_size_and_redirects(serve, variant):
    srv = serve()
    _robots_variant(srv, variant)
    srv.routes["/private/a"] = ok()
    srv.routes["/public/a"] = ok()
    with make_client(srv, obey_robots=True, timeout=0.5, backoff=0.01) as c:
        if variant == "404":  # no rules: everything allowed
            assert c.get(srv.url + "/private/a").status == 200
            assert c.get(srv.url + "/public/a").status == 200
        elif variant in ("503", "timeout"):  # unavailable: the host is skipped this run
            for path in ("/private/a", "/public/a"):
                err = fetch_error(c, srv.url + path)
                assert "robots.txt unavailable" in str(err), err
                assert err.kind == {"503": "http_503", "timeout": "timeout"}[variant]
            assert srv.stat("/private/a").requests + srv.stat("/public/a").requests == 0
        else:  # the rules are found (in the first 512 KiB, or after the hops) and kept
            assert fetch_error(c, srv.url + "/private/a").kind == "robots"
            assert c.get(srv.url + "/public/a").status == 200
            assert srv.stat("/private/a").requests == 0
    attempts = {"503": 3, "timeout": 2}.get(variant, 1)
    assert srv.stat("/robots.txt").requests == attempts  # then cached for the run


def _endless_listing(ex: Exchange) -> None:
    """Listing page after listing page, each with ten new stories and a link to the next."""
    match = re.search(r"/blog/blog-list/(\d+)$", ex.path)
    offset = int(match.group(1)) if match else 0
    # Each card carries the title its page has (a different one reads as an edited story).
    cards = "".join(card(f"/blog/endless-{offset + i}", ARTICLE_TITLE) for i in range(10))
    pager = f'<a href="/blog/blog-list/{offset + 10}">Next</a>'
    ex.respond(200, f"<html><body><div class='blog-list'>{cards}</div>{pager}</body></html>"
               .encode())


def test_D3_endless_pagination_stops_at_the_page_limit(serve, ipnews, tmp_path):
    site = serve(site=CTPLO_SITE)
    site.routes["/blog/blog-list"] = _endless_listing
    site.routes["/blog/blog-list/*"] = _endless_listing
    story = site_page(ARTICLE)  # every endless story has the same text: 1 new, rest dupes
    site.routes["/blog/endless-*"] = ok(story)
    first = run_fetch(ipnews, tmp_path, "--max-pages", "3", ctplo=site.url)
    listings = [t for _, t in site.arrivals if t.startswith("/blog/blog-list")]
    assert first.code == 0, first.err
    assert listings == ["/blog/blog-list", "/blog/blog-list/10", "/blog/blog-list/20"]
    assert "stopped: page limit" in first.err
    assert stored(tmp_path / "ipnews.db") == 1
    before = site.requests
    second = run_fetch(ipnews, tmp_path, "--max-pages", "3", ctplo=site.url)
    assert second.code == 0, second.err
    assert [t for _, t in site.arrivals[before:]] == ["/robots.txt", "/blog/blog-list"]


TRAPS = ["/blog/a/b/a/b/a/b/", "/calendar/2099/01", "/blog/x/x/x",
         "/" + "/".join(f"s{i}" for i in range(25)), "/blog/" + "long-" * 450]


def test_D4_trap_urls_are_never_requested(serve, ipnews, tmp_path):
    srv = serve()
    srv.routes["/go"] = redirect("/c/d/c/d/c/d/")
    with make_client(srv) as c:
        for trap in ("/a/b/a/b/a/b/", "/x" * 21, "/" + "a" * 2100):
            assert fetch_error(c, srv.url + trap).kind == "bad_url"
        # Garbage a listing may hold is refused too, never an exception other than FetchError.
        for garbage_url in ("http://[::1/", f"http://127.0.0.1:99999{srv.port}/", "http:///x"):
            assert fetch_error(c, garbage_url).kind == "bad_url"
        assert srv.requests == 0
        assert fetch_error(c, srv.url + "/go").kind == "bad_redirect"
    assert srv.stat("/c/d/c/d/c/d/").requests == 0

    site = serve(site=CTPLO_SITE)
    links = "".join(card(t, f"Trap {i}") for i, t in enumerate(TRAPS))
    site.routes["/blog/blog-list"] = injected("/blog/blog-list", links)
    result = run_fetch(ipnews, tmp_path, ctplo=site.url)
    assert result.code == 0, result.err
    requested = {t for _, t in site.arrivals}
    assert requested.isdisjoint(TRAPS)
    assert not any(t.startswith(("/calendar", "/blog/a/", "/blog/x/", "/s0", "/blog/long-"))
                   for t in requested)


def test_D5_session_ids_do_not_multiply_fetches(serve, ipnews, tmp_path):
    site = serve(site=CTPLO_SITE)
    rng = random.Random(5)
    slugs = [p.name for p in (CTPLO_SITE / "blog").iterdir() if p.name != "blog-list"]
    links = []
    for slug in slugs:
        for query in (f"?sid={rng.getrandbits(64):x}", f"?PHPSESSID={rng.getrandbits(64):x}",
                      f"?utm_source=feed&utm_medium=rss#c{rng.randrange(99)}",
                      f"?jsessionid={rng.getrandbits(64):x}&from=share"):
            links.append(card(f"/blog/{slug}{query}", f"Copy of {slug}"))
    site.routes["/blog/blog-list"] = injected("/blog/blog-list", "".join(links))
    result = run_fetch(ipnews, tmp_path, ctplo=site.url)
    assert result.code == 0, result.err
    per_path = Counter(t.split("?")[0] for _, t in site.arrivals)
    assert {s: per_path[f"/blog/{s}"] for s in slugs} == dict.fromkeys(slugs, 1)
    assert all("sid" not in t.lower() for _, t in site.arrivals)
    assert stored(tmp_path / "ipnews.db") == CTPLO_ARTICLES
    # What the session-id rule must not do: merge pages a site tells apart by a parameter.
    rules = UrlRules("https://news.example", frozenset({"news.example"}),
                     keep_query=frozenset({"id"}))
    one, two = (canonical_url(f"https://news.example/a?id={n}&sid=x", rules) for n in (1, 2))
    assert one != two
