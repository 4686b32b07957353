"""The client's part of issue 7: rows 13 (a stop interrupts a request in flight) and 14 (a
cutoff bounds retries, waits and redirects), the breaker and control-character minors, and
the two user reports (refusals that name the setting; errors that name the host contacted).

Every fault comes from a real server on loopback (tests/hostile.py). Latencies are printed
(run with -s to see them).
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from hostile import (
    HostileServer,
    MiB,
    drip_body,
    drip_headers,
    encoded,
    hang,
    ok,
    raw,
    redirect,
    sequence,
    status,
    text,
    unanswered_port,
)
from ipnews.article import CONTROLS
from ipnews.client import Client, Settings
from ipnews.errors import FetchError
from test_network_faults import fetch_error
from test_network_faults import make_client as network_client

GOOD = "/good"


@pytest.fixture
def serve() -> Iterator[Callable[..., HostileServer]]:
    """Start HostileServers; all are closed (and their handler errors raised) afterwards."""
    servers: list[HostileServer] = []

    def start(host: str = "127.0.0.1", **kwargs: object) -> HostileServer:
        server = HostileServer(host, **kwargs)
        servers.append(server)
        server.routes[GOOD] = ok()
        return server
    yield start
    for server in servers:
        server.close()


def make_client(*allowed: HostileServer, **settings: object) -> Client:
    """test_network_faults' client with more time: these servers drip on purpose."""
    return network_client(*allowed, **{"timeout": 5, "deadline": 10, **settings})


def assert_clean(message: str) -> None:
    assert CONTROLS.search(message) is None, ascii(message)
    assert len(message) <= 500, len(message)


# --- row 13: a stop interrupts the request in flight -------------------------------------------
def interrupt(client: Client, url: str, after: float) -> tuple[FetchError, float]:
    """get(url), with client.stop set `after` seconds in (from another thread, as a signal
    handler would); returns the error and how long it came after the stop."""
    stopped: list[float] = []

    def set_stop() -> None:
        stopped.append(time.monotonic())
        client.stop.set()
    timer = threading.Timer(after, set_stop)
    timer.start()
    try:
        err = fetch_error(client, url)
    finally:
        timer.cancel()
    assert stopped, f"the request ended before the stop: {err.kind}: {err}"
    return err, time.monotonic() - stopped[0]


PHASES = {
    "slow-body": drip_body(every=0.1, declared=1000),
    "slow-body-unframed": drip_body(every=0.1, declared=1000, framed=False),
    "slow-headers": drip_headers(every=0.1),
    "no-answer": hang(),
}


@pytest.mark.parametrize("phase", [*PHASES, "tls-handshake", "robots"])
def test_W13_stop_interrupts_a_request_in_flight(serve, phase):
    srv = serve()
    path, scheme = "/slow", "http"
    if phase == "robots":  # robots.txt is loaded inside get(): interrupted all the same
        srv.routes["/robots.txt"] = drip_body(every=0.1, declared=1000)
    elif phase == "tls-handshake":  # a plain server never answers the ClientHello
        srv.routes[path] = hang()
        scheme = "https"
    else:
        srv.routes[path] = PHASES[phase]
    url = f"{scheme}://{srv.netloc}{path}"
    with make_client(srv, timeout=20, deadline=20, obey_robots=phase == "robots") as c:
        err, latency = interrupt(c, url, after=0.55)  # between two polls
        print(f"\nW13 {phase}: exception {latency * 1000:.0f} ms after the stop")
        assert err.kind == "interrupted", err
        assert latency < 1.0
        # The connection was closed, not left to the server's patience; and after a stop no
        # new request starts, not even one that needs no wait.
        assert srv.idle(2)
        before = srv.requests
        assert fetch_error(c, srv.url + GOOD).kind == "interrupted"
        assert srv.requests == before
    assert srv.requests == (0 if phase == "tls-handshake" else 1)  # and no retry


def test_W13_stop_during_a_hanging_connect_ends_with_the_connect_timeout():
    # What the watchdog cannot reach: a socket httpx has not finished connecting (httpx
    # gives it to us once connected). The connect timeout bounds it; nothing is retried.
    with contextlib.ExitStack() as stack:
        try:
            port = stack.enter_context(unanswered_port())
        except OSError as exc:
            pytest.skip(str(exc))
        settings = Settings(delay=0, backoff=0.01, timeout=1, deadline=20, attempts=3,
                            obey_robots=False, allow_private=frozenset({f"127.0.0.1:{port}"}))
        attempts: list[str] = []
        with Client(settings, on_request=attempts.append) as c:
            err, latency = interrupt(c, f"http://127.0.0.1:{port}/x", after=0.3)
    print(f"\nW13 tcp-connect: exception {latency * 1000:.0f} ms after the stop (timeout 1 s)")
    assert err.kind == "interrupted", err
    assert latency < 1.5
    assert len(attempts) == 1


def test_W13_deadline_on_an_unframed_body_is_an_error_not_a_short_page(serve):
    # The watchdog cuts the connection at the deadline; a body framed by the connection's
    # end then simply ends, and must not be taken for the whole page.
    srv = serve()
    srv.routes["/slow"] = drip_body(every=0.1, declared=1000, framed=False)
    with make_client(srv, deadline=1) as c:
        err = fetch_error(c, srv.url + "/slow")
    assert err.kind == "timeout" and "deadline exceeded" in str(err), err


def test_W13_watchdogs_leave_no_thread_behind(serve):
    srv = serve()
    # One write per response: the server's two (head, body) meet delayed ACKs, 40 ms each.
    srv.routes["/fast"] = raw(b"HTTP/1.1 200 OK", [b"Content-Type: text/html"])
    before = threading.active_count()
    peak = before
    count = 200

    def sample(_url: str) -> None:
        nonlocal peak
        peak = max(peak, threading.active_count())
    with make_client(srv) as c:
        c.on_request = sample
        start = time.perf_counter()
        for _ in range(count):
            c.get(srv.url + "/fast")
        per_request = (time.perf_counter() - start) / count
    # The server's own connection thread is one more; a watchdog ends with its request.
    end = time.monotonic() + 2
    while threading.active_count() > before + 1 and time.monotonic() < end:
        time.sleep(0.01)
    print(f"\nW13 threads: {before} before, peak {peak}, {threading.active_count()} after "
          f"{count} requests; {per_request * 1000:.2f} ms per request")
    assert threading.active_count() <= before + 1
    assert peak <= before + 5  # the server, this request's watchdog, a few ending


# --- row 14: a cutoff bounds retries, waits, redirects and each attempt -------------------------
def test_W14_cutoff_stops_retries_backoff_and_retry_after(serve):
    srv = serve()
    srv.routes["/503"] = status(503)
    srv.routes["/429"] = status(429, headers=[("Retry-After", "1")])
    srv.routes["/302"] = redirect("/target")
    srv.routes["/target"] = ok()
    # breaker=1: had a time_budget counted as the host's failure, GOOD would be refused.
    with make_client(srv, backoff=0.6, breaker=1) as c:
        for path in ("/503", "/429"):  # a backoff of 0.3-0.9 s; a Retry-After of 1 s
            start = time.monotonic()
            err = fetch_error(c, srv.url + path, cutoff=start + 0.2)
            assert err.kind == "time_budget", err
            assert time.monotonic() - start < 0.2  # gives up at once, sleeps no backoff
            assert srv.stat(path).requests == 1
            # The host's pause still holds for the next request, which it waits out.
            assert c.get(srv.url + GOOD).status == 200
    # A redirect hop that would have to wait for its turn past the cutoff is not made.
    with make_client(srv, delay=0.6) as c:
        c.get(srv.url + GOOD)
        err = fetch_error(c, srv.url + "/302", cutoff=time.monotonic() + 1.0)
        assert err.kind == "time_budget", err
        assert srv.stat("/302").requests == 1 and srv.stat("/target").requests == 0


def test_W14_cutoff_caps_the_attempt_and_is_not_the_hosts_failure(serve):
    srv = serve()
    srv.routes["/slow"] = drip_body(every=0.1, declared=1000)
    with make_client(srv, deadline=20, breaker=1) as c:
        start = time.monotonic()
        err = fetch_error(c, srv.url + "/slow", cutoff=start + 1)
        elapsed = time.monotonic() - start
        print(f"\nW14 slow drip, cutoff in 1 s: time_budget after {elapsed:.2f} s")
        assert err.kind == "time_budget", err  # not "timeout": the URL is not at fault
        assert 0.9 < elapsed < 1.5
        assert srv.stat("/slow").requests == 1
        assert c.get(srv.url + GOOD).status == 200  # the breaker did not count it
        # A cutoff already past: no request at all.
        before = srv.requests
        assert fetch_error(c, srv.url + GOOD, cutoff=time.monotonic()).kind == "time_budget"
        assert srv.requests == before


def test_W14_cutoff_during_robots_is_not_remembered_as_robots_unavailable(serve):
    srv = serve()
    srv.routes["/robots.txt"] = sequence(drip_body(every=0.1, declared=1000),
                                         text("User-agent: *\nAllow: /\n"))
    with make_client(srv, obey_robots=True, deadline=20) as c:
        err = fetch_error(c, srv.url + GOOD, cutoff=time.monotonic() + 0.5)
        assert err.kind == "time_budget", err
        assert c.get(srv.url + GOOD).status == 200  # robots.txt asked again, and read
    assert srv.stat("/robots.txt").requests == 2


# --- minor: one page's fault does not open the host's circuit -----------------------------------
def _cut_gzip() -> bytes:
    whole = gzip.compress(b"<html><body>" + b"story " * 5000 + b"</body></html>")
    return whole[: len(whole) // 2]


PAGE_FAULTS = {
    "unsupported-encoding": [encoded(b"x" * 100, "zstd-bogus"), encoded(b"x" * 100, "compress"),
                             encoded(b"x" * 100, "gzip, gzip")],
    "not-html": [ok(b"%PDF-1.7", content_type="application/pdf")],
    "too-large": [ok(b"a" * (2 * MiB))],
    "gzip-cut-within-its-framing": [encoded(_cut_gzip(), "gzip")],
    "corrupt-gzip": [encoded(b"this is not gzip at all", "gzip")],
    "other-4xx": [status(401), status(451), status(400)],
    "not-found": [status(404), status(410)],
}
HOST_FAULTS = {"5xx": status(500), "403": status(403)}


@pytest.mark.parametrize("fault", [*PAGE_FAULTS, *HOST_FAULTS])
def test_Wminor_a_pages_own_fault_does_not_open_the_hosts_circuit(serve, fault):
    srv = serve()
    handlers = PAGE_FAULTS.get(fault) or [HOST_FAULTS[fault]]
    for i in range(3):
        srv.routes[f"/bad{i}"] = handlers[i % len(handlers)]
    with make_client(srv, breaker=3, max_bytes=1 * MiB) as c:
        kinds = [fetch_error(c, f"{srv.url}/bad{i}").kind for i in range(3)]
        if fault in HOST_FAULTS:  # the control: these do say the host is unwell
            assert fetch_error(c, srv.url + GOOD).kind == "circuit_open"
            assert srv.stat(GOOD).requests == 0
        else:
            assert c.get(srv.url + GOOD).status == 200, kinds


# --- minor: no control character from a server reaches a message -------------------------------
C0 = b"\x1b]0;pwn\x07"
C1 = b"\x9b31m"  # a C1 CSI as a latin-1 byte
BIDI = "\u202egnp".encode()  # RIGHT-TO-LEFT OVERRIDE, as UTF-8


def content_encoding(value: bytes) -> object:
    return raw(b"HTTP/1.1 200 OK", [b"Content-Type: text/html", b"Content-Encoding: " + value])


HOSTILE_RESPONSES = {
    "encoding-c0": content_encoding(C0),
    "encoding-c1": content_encoding(C1),
    "encoding-bidi": content_encoding(BIDI),
    "encoding-chain": content_encoding(b"gzip, " + C1 + BIDI),
    "type-c1": raw(b"HTTP/1.1 200 OK", [b"Content-Type: " + C1 + b"text/x" + BIDI]),
    "reason-c1": raw(b"HTTP/1.1 404 " + C1 + C0 + BIDI),
    "header-name": raw(b"HTTP/1.1 200 OK", [b"X-" + C1 + C0 + b": y"]),
    "location-c0": raw(b"HTTP/1.1 302 Found", [b"Location: http://127.0.0.1:1/" + C0]),
    "location-c1-host": raw(b"HTTP/1.1 302 Found", [b"Location: http://a" + C1 + b"/x"]),
    "location-bidi-host": raw(b"HTTP/1.1 302 Found", [b"Location: http://a" + BIDI + b"/x"]),
    "location-scheme": raw(b"HTTP/1.1 302 Found", [b"Location: " + BIDI + b"ftp://x/"]),
    "location-offsite": raw(b"HTTP/1.1 302 Found",
                            [b"Location: http://\xe2\x80\xaeevil.example/" + C1]),
    "location-long": raw(b"HTTP/1.1 302 Found",
                         [b"Location: http://127.0.0.1:1/" + (C1 + b"/a") * 2000 + C0]),
    "location-trap": raw(b"HTTP/1.1 302 Found", [b"Location: /" + (BIDI + b"/") * 3]),
}


@pytest.mark.parametrize("case", [*HOSTILE_RESPONSES, "robots"])
def test_Wminor_server_text_in_messages_has_no_control_characters(serve, case):
    srv = serve()
    srv.routes["/page"] = HOSTILE_RESPONSES.get(case, ok())
    if case == "robots":
        srv.routes["/robots.txt"] = content_encoding(C1)
    allowed = frozenset({"127.0.0.1"}) if case == "location-offsite" else None
    with make_client(srv, obey_robots=case == "robots", attempts=1) as c:
        err = fetch_error(c, srv.url + "/page", allowed_hosts=allowed)
        print(f"\n{case}: {err.kind}: {err}")
        assert_clean(str(err))
        # The breaker's and deferral's messages quote an earlier failure: clean too.
        for _ in range(3):
            with pytest.raises(FetchError) as again:
                c.get(srv.url + "/page", allowed_hosts=allowed)
            assert_clean(str(again.value))


def test_Wminor_a_followed_location_keeps_no_control_character(serve):
    srv = serve()
    # UTF-8 throughout (a C1 control as its two bytes), so that httpx reads it as UTF-8.
    srv.routes["/go"] = raw(b"HTTP/1.1 302 Found",
                            [b"Location: /p" + BIDI + "\x9b31m".encode() + b"th"])
    srv.routes["/p*"] = ok()
    with make_client(srv) as c:
        page = c.get(srv.url + "/go")
    assert CONTROLS.search(page.final_url) is None, ascii(page.final_url)
    assert page.final_url == srv.url + "/p%E2%80%AEgnp%C2%9B31mth"  # as sent on the wire


# --- user reports: refusals name the setting; errors name the host contacted --------------------
def test_Wuser_refusals_name_the_setting_that_would_allow_them(serve):
    srv = serve()
    # A typed http://127.0.0.1:PORT/ (cli.py will add it to allow_private): nothing else is.
    with make_client(obey_robots=True) as c:
        err = fetch_error(c, srv.url + GOOD)
        assert err.kind == "ssrf_refused", err
        assert "[sources.NAME] base_url" in str(err), err
        assert "robots.txt" not in str(err)  # the refusal itself, not a robots failure
        assert "configure the host" not in str(err)
        # A public name on a port not allowed: refused before any DNS lookup.
        err = fetch_error(c, "http://news.example:8080/a")
        assert err.kind == "ssrf_refused", err
        assert "[fetch] allowed_ports" in str(err), err
    assert srv.requests == 0


def test_Wuser_a_url_allowed_by_allow_private_does_not_open_other_hosts(serve):
    a, b = serve(), serve()  # a: the URL the user typed; b: another port on loopback
    try:
        a2: HostileServer | None = HostileServer("127.0.0.2")  # another loopback host
    except OSError:
        a2 = None
    targets = [f"http://127.0.0.1:{b.port}{GOOD}", f"http://localhost:{a.port}{GOOD}"]
    if a2 is not None:
        targets.append(f"{a2.url}{GOOD}")
    try:
        for i, target in enumerate(targets):
            a.routes[f"/go{i}"] = redirect(target)
        # Even with every port allowed for public hosts, the address check stands.
        ports = frozenset({80, 443, a.port, b.port} | ({a2.port} if a2 else set()))
        for allowed_ports in (frozenset({80, 443}), ports):
            with make_client(a, allowed_ports=allowed_ports) as c:
                for i, target in enumerate(targets):
                    err = fetch_error(c, f"{a.url}/go{i}")
                    assert err.kind == "ssrf_refused", (target, err)
                assert c.get(a.url + GOOD).status == 200
        assert b.connections == 0
        assert a2 is None or a2.connections == 0
    finally:
        if a2 is not None:
            a2.close()


def test_Wuser_errors_name_the_host_contacted(serve):
    mirror, other = serve(), serve()
    mirror.routes["/hop"] = redirect(f"{other.url}/missing")
    mirror.routes["/robots.txt"] = status(503)
    with make_client(mirror, other) as c:
        err = fetch_error(c, mirror.url + "/hop")
        assert err.url == mirror.url + "/hop"  # always the URL asked
        assert str(err) == f"redirected to {other.url}/missing: HTTP 404", err
    with make_client(mirror, obey_robots=True, attempts=1) as c:
        err = fetch_error(c, mirror.url + GOOD)
        assert err.url == mirror.url + GOOD
        assert str(err) == f"{mirror.url}/robots.txt unavailable: HTTP 503", err
