"""Live checks against the real sites: has a site changed under our parsers?

Off by default (they need the internet): run `python -m pytest -m network`. One check per
built-in source: its first listing document (or feed) still yields article links with
dates, and its newest article still parses by the source's own rules.
"""

from __future__ import annotations

import pytest

from ipnews.client import HTML_TYPES, Client, Settings
from ipnews.extraction import check_quality
from ipnews.sources import registry
from ipnews.worker import InProcess, Job, ListingJob

pytestmark = pytest.mark.network

# Sources whose article structure was never seen: their text comes from the generic
# extractor by design (see README, "Sources").
GENERIC_BODY = {"ipcourt"}


@pytest.fixture(scope="module")
def client():
    with Client(Settings(delay=1.0, attempts=2)) as c:
        yield c


@pytest.mark.parametrize("name", list(registry()))
def test_listing_and_newest_article_still_parse(client, name):
    source = registry()[name]()
    kind, start = source.discovery()[0]
    documents, items = [start], []
    while documents and len(items) < 5:  # a hub names its list (Xinhua's JSON)
        url = documents.pop(0)
        page = client.get(source.request_url(url), allowed_hosts=source.hosts,
                          accept=None if kind != "listing" else HTML_TYPES + source.listing_types)
        listing = ListingJob(source.name, source.base_url, dict(source.settings), {},
                             page.body, page.content_type, url, kind).run({}).page
        items += listing.items
        documents += listing.more
    assert len(items) >= 5, f"{name}: its listing yields {len(items)} article links"
    assert any(i.published_at for i in items), f"{name}: listing cards lost their dates"
    item = items[0]
    page = client.get(source.request_url(item.url), allowed_hosts=source.hosts)
    article = InProcess().extract(Job(source.name, source.base_url, dict(source.settings),
                                      page.body, page.content_type, item.url)).article
    check_quality(article)
    assert article.published_at, f"{name}: the article's date is gone"
    if name not in GENERIC_BODY:
        assert article.extraction in ("selectors", "landmarks"), (
            f"{name}: selectors found no body, trafilatura had to step in: the markup changed")
    for boilerplate in ("Back to top", "Get a Free Consultation", "EXPLORE SHINE", "沪ICP",
                        "京ICP", "责任编辑", "Copyright"):
        assert boilerplate not in article.body, f"{name}: {boilerplate!r} leaked into the text"
