"""How healthy a source looked in a run, judged against its own earlier runs: the alarm
for a site that changed its markup (cards no longer found, selectors no longer matching,
dates gone) or whose feed went stale.

A site that changes rarely fails loudly: its pages still answer 200, the generic
extractor still finds some text, and the archive slowly fills with worse articles. The
figures here make that visible in one line of `ipnews fetch`, even with -q.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

OK, DEGRADED, BROKEN, STALE = "ok", "degraded", "broken", "stale"
ALARMS = frozenset({BROKEN, DEGRADED})
# Too few pages say nothing about a share; earlier runs must have shown the source working.
MIN_PAGES = 3
FALLBACK_SHARE = 0.5  # more pages than this read by trafilatura: the selectors stopped working
MISSING_SHARE = 0.5  # more articles than this without a date: the date moved


@dataclass
class Metrics:
    """What one run of one source saw."""

    documents: int = 0  # listing pages, feeds and sitemaps read (not 304)
    cards: int = 0  # candidate articles they listed
    pages: int = 0  # article pages extracted
    fallbacks: int = 0  # of those, read by the generic extractor, not the source's own
    no_date: int = 0
    no_authors: int = 0
    stale: str | None = None  # the first stale feed or sitemap, if any

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def judge(now: Metrics, earlier: list[dict[str, object]]) -> tuple[str, str | None]:
    """The run's health and the reason, given the metrics of earlier runs of the source
    (newest first)."""
    def share(part: int) -> float:
        return part / now.pages if now.pages else 0.0

    def had(test: object) -> bool:
        return any(test(e) for e in earlier)  # type: ignore[operator]

    if now.documents and not now.cards:
        before = max((int(e.get("cards") or 0) for e in earlier), default=0)
        return BROKEN, (f"no article links found on {now.documents} page(s) read"
                        + (f" (an earlier run found {before})" if before else ""))
    if now.pages >= MIN_PAGES and share(now.fallbacks) > FALLBACK_SHARE and had(
            lambda e: int(e.get("pages") or 0) >= MIN_PAGES
            and int(e.get("fallbacks") or 0) <= FALLBACK_SHARE * int(e.get("pages") or 0)):
        return BROKEN, (f"its own selectors read only {now.pages - now.fallbacks} of "
                        f"{now.pages} pages (the rest fell back to the generic extractor)")
    if now.pages >= MIN_PAGES and share(now.no_date) > MISSING_SHARE and had(
            lambda e: int(e.get("pages") or 0) >= MIN_PAGES
            and int(e.get("no_date") or 0) <= MISSING_SHARE * int(e.get("pages") or 0)):
        return DEGRADED, f"no date found on {now.no_date} of {now.pages} pages"
    if now.stale:
        return STALE, now.stale
    return OK, None
