"""Live checks against the real sites: has a site changed under our parsers?

Off by default (they need the internet): run `python -m pytest -m network`.
"""

from __future__ import annotations

import pytest

from ipnews.client import Client, Settings
from ipnews.decoding import decode_html
from ipnews.extraction import check_quality
from ipnews.sources import registry

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def client():
    with Client(Settings(delay=1.0, attempts=2)) as c:
        yield c


@pytest.mark.parametrize("name", list(registry()))
def test_listing_and_newest_article_still_parse(client, name):
    source = registry()[name]()
    start = source.listing_urls()[0]
    page = client.get(source.request_url(start), allowed_hosts=source.hosts)
    listing = source.parse_listing(decode_html(page.body, page.content_type).text, start)
    assert len(listing.items) >= 5, f"{name}: the listing page yields no article links"
    assert any(i.published_at for i in listing.items), f"{name}: listing cards lost their dates"
    item = listing.items[0]
    article_page = client.get(source.request_url(item.url), allowed_hosts=source.hosts)
    article = source.extract(decode_html(article_page.body, article_page.content_type).text,
                             item.url)
    check_quality(article)
    assert article.extraction in ("selectors", "landmarks"), (
        f"{name}: selectors found no body, trafilatura had to step in: the markup changed")
    for boilerplate in ("Back to top", "Get a Free Consultation", "EXPLORE SHINE", "沪ICP"):
        assert boilerplate not in article.body
