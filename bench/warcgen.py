"""A synthetic WARC shaped like one Common Crawl CC-NEWS file, for measuring `ipnews import`.

A CC-NEWS file is ~1 GB of gzip-per-record WARC holding a few hours of the world's news:
a warcinfo record, then a request and a response record per fetched URL, from thousands of
hosts, almost none of which ipnews knows. What an import costs is therefore mostly reading
and skipping, and what it stores is the 1-2% of pages its sources own. This file has that
shape, made from a seed:

- most responses are news article pages of random hosts (20-120 KB of HTML, most of it
  scripts, styles, menus and footers, as real pages are), some in Chinese (UTF-8, a few
  GBK); a few percent are images, JSON and robots.txt, some are 301s and 404s;
- OWNED_SHARE of them are SHINE pages (www.shine.cn, a built-in source): article pages
  made exactly as bench/mirror.py makes its mirror's (the real fixture page with the
  article's parts swapped), so ipnews's real shine parser reads them, and a few section
  pages, which are not articles. SHINE keeps only IP stories (`ip_only`): IP_SHARE of the
  articles are corpus.py's (every one of which is about IP), the others general news with
  no IP term at all (checked against ipnews.relevance by `--check`);
- a few SHINE URLs come twice, the second time with the same bytes or with the text edited,
  which is what dedup and versions are for;
- most bodies are stored decoded, as Common Crawl stores them (the encoding it undid kept
  as X-Crawler-Content-Encoding), but CONTENT_ENCODED_SHARE of the HTML keeps
  `Content-Encoding: gzip` with the gzip bytes as the payload, as other crawlers write them.

The file is written as it is made, one record at a time (memory stays flat whatever the
size), and is the same bytes for the same arguments: record ids and dates come from the
seed, not the clock. The Manifest says what went in, by the generator's own labels, so an
import can be checked against it.

Several files can share their SHINE pages (a Pool), as consecutive CC-NEWS files share the
stories they recrawl: page k's text and its edits are functions of (pool seed, k), and an
edit happens at a time, so files made apart agree on which text a URL had when.

    python bench/warcgen.py --size 50MB --seed 1 --out /tmp/x.warc.gz [--check]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gzip
import html
import io
import itertools
import json
import random
import sys
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `python bench/warcgen.py`

import corpus
import mirror
from measure import CACHE
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

# Bump when the output changes: cached files are keyed by it (and by corpus's and
# mirror's versions, whose articles and page template the SHINE pages are).
GENERATOR_VERSION = 2
DEFAULT_SEED = 1

# --- the mix ----------------------------------------------------------------------------
OWNED_SHARE = 0.015  # responses from www.shine.cn, the one built-in source drawn here
OWNED_LISTING_SHARE = 0.05  # of those: section pages (listings, never stored)
IP_SHARE = 1 / 3  # of SHINE's article pages: stories about IP (the others are skipped)
RECRAWL_SHARE = 0.06  # of SHINE article captures: a URL this file holds already
RECRAWL_EDITED = 0.5  # of those recrawls: the text was edited in between (one file alone)
POOL_EDITED = 0.4  # pages of a shared Pool edited once over the files' span
NON_HTML_SHARE = 0.03  # other hosts' responses: JPEG, JSON, robots.txt
REDIRECT_SHARE = 0.012  # 301 with a Location and a small body
NOT_FOUND_SHARE = 0.012  # 404, the host's page shell with a short apology
CHINESE_HOSTS = 0.12  # hosts writing in Chinese; GBK_SHARE of them in GBK
GBK_SHARE = 0.25
CONTENT_ENCODED_SHARE = 0.03  # HTML kept with Content-Encoding: gzip (gzip payload)
CRAWLER_DECODED_SHARE = 0.4  # the rest that came gzip, decoded by the crawler
HOSTS = 4000
PAGE_BYTES = (20_000, 120_000)  # a host's page size (its boilerplate), before the article
ZLIB_LEVEL = 6  # warcio writes level 9: ~2x the time for ~1% less
START = datetime(2024, 11, 1, tzinfo=timezone.utc)
FILE_SPAN = timedelta(hours=6)  # the crawl time one file covers (its WARC-Dates)
SHINE_HOME = "https://www.shine.cn"
SHINE_SECTIONS = ("news/nation", "news/metro", "news/world", "biz/company", "biz/tech")
USER_AGENT = "CCBot/2.0 (https://commoncrawl.org/faq/)"


# --- general news (never about IP) ------------------------------------------------------
def _words(text: str) -> list[str]:
    return text.split()


# No word or pair here is one of ipnews.relevance's terms: a SHINE story made of them is
# not about IP, and `--check` verifies that on every generated page.
_NEWS_NOUNS = _words("""city residents visitors tourists festival museum exhibition school
schools students teachers hospital doctors patients nurses metro subway line station trains
passengers flights airport bridge tunnel road roads traffic drivers weather rain typhoon
temperatures heat snow river lake park parks garden forest wildlife panda pandas zoo team
teams match league players coach season stadium fans concert singer orchestra theater
performance audience economy growth prices inflation exports imports investors stocks shares
bank banks loans housing homes rent construction project projects energy power solar wind
vehicles battery batteries charging emissions climate volunteers community elderly children
families restaurant restaurants food chefs tea coffee market markets shoppers sales retail
village villages farmers harvest rice water officials government plan plans policy budget
report survey data study scientists research space satellite rocket mission ocean ships
port fishing culture history heritage temple artists dancers marathon runners cyclists
district districts street streets neighborhood clinic vaccine health safety fire police
rescue workers jobs graduates companies startups factory output""")
_NEWS_VERBS = _words("""opened closed announced reported launched visited welcomed attracted
celebrated hosted won lost scored beat expanded reduced raised cut rose fell increased
decreased planned built completed renovated repaired delayed resumed suspended warned
urged praised released published showed found recorded reached set broke joined left
started finished approved signed promised""")
_NEWS_ADJECTIVES = _words("""new local national international major small large annual
record higher lower first second last final young old public private green electric
cultural historic popular busy quiet heavy light strong weak early late""")
_NEWS_FUNCTION = _words("""the the the the a a an of of of in in in to to to and and and for for
on on with with by at from that this its their as was were is be has have had it which who
after before over under more than about also not but or""")
_NEWS_TITLE_START = ["Shanghai", "Pudong", "Jing'an", "Minhang", "Xuhui", "Hongkou",
                     "Yangpu", "Songjiang", "Qingpu", "Chongming", "China", "Beijing",
                     "Hangzhou", "Suzhou", "Nanjing", "Yangtze Delta"]


class NewsText:
    """English general news from a seeded pool of sentences, like corpus.Corpus but about
    weather, traffic, sport and the economy: the page text of the other hosts and the
    SHINE stories that are not about IP. A pool keeps a page's text cheap to make."""

    POOL = 4000

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed * 31 + 7)
        self.content = _NEWS_NOUNS + _NEWS_VERBS + _NEWS_ADJECTIVES
        rng.shuffle(self.content)
        self.weights = list(itertools.accumulate(1 / (r + 1) ** 0.8
                                                 for r in range(len(self.content))))
        self.sentences = [self._sentence(rng) for _ in range(self.POOL)]
        self.titles = [self._title(rng) for _ in range(self.POOL)]

    def _sentence(self, rng: random.Random) -> str:
        words = [rng.choice(_NEWS_FUNCTION) if rng.random() < 0.45 else
                 rng.choices(self.content, cum_weights=self.weights)[0]
                 for _ in range(rng.randint(8, 24))]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), str(rng.randint(2, 9_999)))
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def _title(self, rng: random.Random) -> str:
        words = rng.choices(self.content, cum_weights=self.weights, k=rng.randint(6, 12))
        return " ".join([rng.choice(_NEWS_TITLE_START), *words])

    def paragraphs(self, rng: random.Random, low: int = 250, high: int = 900) -> list[str]:
        target, words, sentences = rng.randint(low, high), 0, []
        while words < target:
            s = self.sentences[rng.randrange(self.POOL)]
            sentences.append(s)
            words += s.count(" ") + 1
        cuts = sorted(rng.sample(range(1, len(sentences)), min(len(sentences) - 1,
                                                               rng.randint(4, 11))))
        return [" ".join(sentences[a:b])
                for a, b in itertools.pairwise([0, *cuts, len(sentences)])]

    def article(self, index: int, rng: random.Random) -> corpus.Article:
        """A corpus.Article (so mirror.py's page filling takes it) that is not about IP."""
        return corpus.Article(
            index=index, source="shine", title=self.titles[rng.randrange(self.POOL)],
            summary=self.sentences[rng.randrange(self.POOL)],
            paragraphs=self.paragraphs(rng), published=corpus.START,
            author=rng.choice(corpus._PEOPLE), section="News / Metro")


# --- the SHINE pages --------------------------------------------------------------------
@dataclass(frozen=True)
class Pool:
    """SHINE pages shared by several files made apart (the merge benchmark). Page k's
    story, URL and edit time are functions of (seed, k); file `epoch` covers the times
    [epoch, epoch + 1), so an edited page shows its old text in the files before the edit
    and its new text after, as consecutive crawls would."""

    seed: int
    size: int
    epochs: int

    def edit_time(self, k: int) -> float | None:
        rng = random.Random(f"edit-{self.seed}-{k}")
        return rng.uniform(0.2, self.epochs) if rng.random() < POOL_EDITED else None

    def version(self, k: int, when: float) -> int:
        edit = self.edit_time(k)
        return int(edit is not None and edit <= when)

    def key(self) -> str:
        return f"p{self.seed}x{self.size}x{self.epochs}"


class Shine:
    """SHINE article and section pages made as bench/mirror.py makes its mirror's."""

    def __init__(self, seed: int, news: NewsText) -> None:
        self.seed = seed
        self.corpus = corpus.Corpus(seed)
        self.news = news
        self.page = mirror.article_template()
        self.card = mirror.card_template()
        self.listing = mirror.listing_template()

    def story(self, k: int) -> tuple[corpus.Article, bool]:
        """Page k's story as first published, and whether it is about IP (corpus.py's
        titles all name an IP term; NewsText never does)."""
        rng = random.Random(f"shine-{self.seed}-{k}")
        ip = rng.random() < IP_SHARE
        a = self.corpus.make(k) if ip else self.news.article(k, rng)
        # Published shortly before the crawl; the URL's 10 digits are YYMMDD + 4, unique
        # per k (k < 300,000) as SHINE's are per day.
        published = (START - timedelta(days=k % 30, minutes=rng.randrange(24 * 60)))
        section = SHINE_SECTIONS[rng.randrange(len(SHINE_SECTIONS))]
        a = dataclasses.replace(a, index=k, published=published,
                                section=section.replace("/", " / ").title())
        return a, ip

    def path(self, k: int, a: corpus.Article) -> str:
        section = a.section.replace(" / ", "/").lower()
        return f"{section}/{a.published:%y%m%d}{(k // 30) % 10_000:04d}"

    def edited(self, a: corpus.Article, k: int, version: int, ip: bool) -> corpus.Article:
        """Version 1: a paragraph added where the editor chose, and one headline in two
        rewritten; always the same for (k, version). A story not about IP gets general
        news sentences only, so it stays so."""
        if version == 0:
            return a
        rng = random.Random(f"shine-edit-{self.seed}-{k}-{version}")
        source = self.corpus.pool if ip else self.news.sentences
        added = " ".join(rng.choice(source) for _ in range(rng.randint(2, 4)))
        paragraphs = list(a.paragraphs)
        paragraphs.insert(rng.randrange(1, len(paragraphs) + 1), added)
        title = f"{a.title} (updated)" if rng.random() < 0.5 else a.title
        return dataclasses.replace(a, title=title, paragraphs=paragraphs)

    def article_page(self, k: int, version: int) -> tuple[str, bytes, bool]:
        """(URL, page bytes, about IP) of page k as it read at `version`."""
        a, ip = self.story(k)
        path = self.path(k, a)
        values = mirror._article_values(self.edited(a, k, version, ip), path)
        return f"{SHINE_HOME}/{path}/", self.page.fill(values).encode("utf-8"), ip

    def listing_page(self, rng: random.Random) -> tuple[str, bytes]:
        section = SHINE_SECTIONS[rng.randrange(len(SHINE_SECTIONS))]
        cards = []
        for _ in range(10):
            k = rng.randrange(1_000_000, 2_000_000)
            a = self.corpus.make(k)
            cards.append(self.card.fill(mirror._card_values(a, f"{section}/{k:010d}")))
        text = self.listing.fill({"cards": "".join(cards), "records": "300",
                                  "sid": str(100 + rng.randrange(50))})
        return f"{SHINE_HOME}/{section}/", text.encode("utf-8")


# --- the other hosts ----------------------------------------------------------------------
_SYLLABLES = [c + v for c in "bcdfghklmnprstvwz" for v in "aeiou"] + ["ang", "en", "ong"]
_TLDS = [".com"] * 10 + [".co.uk", ".com.au", ".in", ".ng", ".co.za", ".ca", ".ie", ".com.sg",
                         ".news", ".org", ".net", ".de", ".fr", ".it", ".com.cn", ".cn"]
_SERVERS = ["nginx", "nginx/1.24.0", "Apache", "cloudflare", "Microsoft-IIS/10.0",
            "openresty", "AmazonS3", "Varnish", "LiteSpeed", "gws", "Tengine"]
_SECTION_WORDS = ["news", "world", "politics", "business", "economy", "sport", "sports",
                  "culture", "lifestyle", "travel", "tech", "science", "health", "opinion",
                  "local", "weather", "entertainment", "video", "markets", "education"]
_JS_WORDS = _words("""window document var function return if else for null true false this
new push length style display none block getElementById querySelector addEventListener
click load scroll resize setTimeout dataLayer gtag config event value page ads slot banner
consent cookie analytics track user session id src async defer script parentNode insertBefore
createElement json parse stringify location href hostname path category article author""")


def _ident(rng: random.Random) -> str:
    return "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4)))


_PX = (0, 0, 1, 2, 4, 4, 8, 8, 10, 12, 12, 14, 16, 16, 20, 24, 32, 48)
_COLORS = ("#fff", "#000", "#333", "#666", "#999", "#ccc", "#eee", "#f5f5f5", "#e2001a",
           "#1a73e8", "#222", "#444", "transparent", "inherit")


def _script_block(rng: random.Random, names: list[str]) -> str:
    """Inline JavaScript of the kind news pages carry (ads, analytics, consent): a few
    names used over and over, as code does, so it compresses about as real scripts do."""
    local = rng.sample(names, 14)
    lines = []
    for _ in range(rng.randint(10, 70)):
        kind = rng.random()
        a, b, c = rng.choice(local), rng.choice(local), rng.choice(local)
        w = rng.choice(_JS_WORDS)
        if kind < 0.35:
            lines.append(f"function {a}({b},{c}){{var el=document.{rng.choice(_JS_WORDS)}"
                         f"(\"{b}-{c}\");if(el){{el.style.display=\"{w}\";}}"
                         f"return {b}+{c}*{rng.choice(_PX)};}}")
        elif kind < 0.6:
            lines.append(f"window.{a}=window.{a}||[];{a}.push({{\"event\":\"{w}\","
                         f"\"{b}\":{rng.randint(0, 99)},\"{c}\":\"{rng.choice(local)}\"}});")
        elif kind < 0.85:
            nums = ",".join(str(rng.choice(_PX)) for _ in range(rng.randint(3, 12)))
            lines.append(f"var {a}={{\"{b}\":\"{w}\",\"{c}\":[{nums}],\"{w}_id\":"
                         f"\"{rng.getrandbits(32):08x}\"}};")
        else:
            lines.append(f"if(typeof {a}!==\"undefined\"){{{a}.{w}(\"{b}\",function(e)"
                         f"{{{c}(e.{rng.choice(_JS_WORDS)})}},{{passive:true}});}}")
    return "<script>" + "\n".join(lines) + "</script>\n"


def _style_block(rng: random.Random, names: list[str]) -> str:
    props = ["margin", "padding", "color", "background", "font-size", "line-height",
             "display", "width", "max-width", "border", "font-weight", "text-align"]
    local = rng.sample(names, 20)
    rules = []
    for _ in range(rng.randint(15, 80)):
        decl = ";".join(f"{rng.choice(props)}:{rng.choice(_PX)}px" if rng.random() < 0.6
                        else f"{rng.choice(props)}:{rng.choice(_COLORS)}"
                        for _ in range(rng.randint(1, 5)))
        rules.append(f".{rng.choice(local)}-{rng.choice(local)} .{rng.choice(local)}{{{decl}}}")
    return "<style>" + "\n".join(rules) + "</style>\n"


def _data_uri_block(rng: random.Random) -> str:
    """An inline image (logo, placeholder): base64, which compresses little."""
    import base64

    data = base64.b64encode(rng.randbytes(rng.randint(300, 3000))).decode("ascii")
    return f'<img class="{_ident(rng)}" alt="" src="data:image/png;base64,{data}">\n'


@dataclass
class Host:
    """One news site: its name, language, how it serves, and the page around an article
    (made once, from the seed and the host's number)."""

    name: str
    lang: str  # "en" or "zh"
    charset: str  # "utf-8" or "gbk"
    charset_in_header: bool
    server: str
    head: str  # <head> furniture after the title and metas
    nav: str
    footer: str
    url_style: int


class Sites:
    """The thousands of other hosts and their pages."""

    BLOCKS = 240

    def __init__(self, seed: int, news: NewsText, clauses: list[str]) -> None:
        rng = random.Random(seed * 17 + 3)
        self.seed = seed
        self.news = news
        self.clauses = clauses
        self.names = self._names(rng)
        self.weights = list(itertools.accumulate(1 / (r + 1) ** 0.7 for r in range(HOSTS)))
        names = [_ident(rng) for _ in range(400)]
        self.blocks = [(_script_block if i % 3 else _style_block)(rng, names)
                       for i in range(self.BLOCKS)]
        self.images = [_data_uri_block(rng) for _ in range(20)]

    @staticmethod
    def _names(rng: random.Random) -> list[str]:
        names: dict[str, None] = {}
        while len(names) < HOSTS:
            stem = "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4)))
            suffix = rng.choice(["", "", "news", "times", "post", "daily", "herald", "today"])
            names[f"www.{stem}{suffix}{rng.choice(_TLDS)}"] = None
        return list(names)

    def pick(self, rng: random.Random) -> int:
        return rng.choices(range(HOSTS), cum_weights=self.weights)[0]

    @functools.lru_cache(maxsize=512)  # noqa: B019 (one Sites per generation)
    def host(self, h: int) -> Host:
        rng = random.Random(f"host-{self.seed}-{h}")
        name = self.names[h]
        zh = rng.random() < CHINESE_HOSTS
        charset = "gbk" if zh and rng.random() < GBK_SHARE else "utf-8"
        size = int(PAGE_BYTES[0] * (PAGE_BYTES[1] / PAGE_BYTES[0]) ** rng.random())
        head, total = [], 0
        while total < size * 0.8:
            block = (self.images[rng.randrange(len(self.images))] if rng.random() < 0.08
                     else self.blocks[rng.randrange(self.BLOCKS)])
            head.append(block)
            total += len(block)
        sections = rng.sample(_SECTION_WORDS, rng.randint(6, 14))
        nav = "".join(f'<li class="nav-item"><a href="https://{name}/{s}/">{s.title()}</a>'
                      f"</li>" for s in sections)
        links = "".join(f'<a href="https://{name}/{w}/">{w}</a> '
                        for w in rng.sample(_SECTION_WORDS, 10))
        footer = (f'<footer class="site-footer"><nav>{links}</nav><p>&copy; 2024 {name}. '
                  f"All rights reserved.</p></footer>\n")
        split = len(head) // 3  # most scripts in <head>, the rest at the end of <body>
        return Host(name, "zh" if zh else "en", charset, rng.random() < 0.7,
                    rng.choice(_SERVERS), "".join(head[:split]),
                    f'<header><ul class="nav">{nav}</ul></header>\n',
                    footer + "".join(head[split:]), rng.randrange(3))

    def url(self, host: Host, rng: random.Random, when: datetime) -> str:
        slug = "-".join(rng.choice(self.news.content) for _ in range(rng.randint(4, 9)))
        section = rng.choice(_SECTION_WORDS)
        if host.url_style == 0:
            return f"https://{host.name}/{when:%Y/%m/%d}/{slug}/"
        if host.url_style == 1:
            return f"https://{host.name}/{section}/{slug}-{rng.randrange(10**6, 10**8)}"
        return f"https://{host.name}/{section}/article/{rng.randrange(10**6, 10**7)}.html"

    def _text(self, host: Host, rng: random.Random) -> tuple[str, list[str]]:
        if host.lang == "zh":
            def sentence(n: int) -> str:
                return "，".join(rng.choice(self.clauses) for _ in range(n)) + "。"
            return (sentence(2)[:-1], [sentence(rng.randint(3, 8))
                                       for _ in range(rng.randint(4, 12))])
        return (self.news.titles[rng.randrange(NewsText.POOL)],
                self.news.paragraphs(rng, 200, 1200))

    def article(self, host: Host, url: str, rng: random.Random, when: datetime,
                not_found: bool = False) -> bytes:
        esc = html.escape
        if not_found:
            title, paragraphs = "Page not found", ["The page you requested does not exist."]
        else:
            title, paragraphs = self._text(host, rng)
        author = rng.choice(corpus._PEOPLE)
        meta_charset = "gb2312" if host.charset == "gbk" else "utf-8"
        titles = self.news.titles
        related = "".join(
            f'<li><a href="https://{host.name}/{rng.choice(_SECTION_WORDS)}/'
            f'{rng.randrange(10**6, 10**7)}.html">{esc(titles[rng.randrange(NewsText.POOL)])}'
            f"</a></li>" for _ in range(rng.randint(5, 30)))
        ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                         "headline": title, "datePublished": when.isoformat(),
                         "author": {"@type": "Person", "name": author}}, ensure_ascii=False)
        body = "".join(f"<p>{esc(p)}</p>\n" for p in paragraphs)
        text = (f'<!DOCTYPE html>\n<html lang="{host.lang}"><head>'
                f'<meta charset="{meta_charset}">\n<title>{esc(title)} | {host.name}</title>\n'
                f'<meta property="og:title" content="{esc(title)}">\n'
                f'<meta property="og:url" content="{esc(url)}">\n'
                f'<link rel="canonical" href="{esc(url)}">\n'
                f'<script type="application/ld+json">{ld}</script>\n{host.head}</head>\n'
                f'<body class="article-page">{host.nav}<main><article><h1>{esc(title)}</h1>'
                f'<div class="byline">{esc(author)} <time datetime="{when.isoformat()}">'
                f"{when:%d %B %Y}</time></div>\n<div class=\"article-body\">{body}</div>"
                f'</article><aside><h2>Related</h2><ul>{related}</ul></aside></main>\n'
                f"{host.footer}</body></html>\n")
        return text.encode(host.charset, "xmlcharrefreplace")


# --- the manifest -------------------------------------------------------------------------
@dataclass
class Manifest:
    """What a file holds, by the generator's own labels (never by reading it back)."""

    seed: int
    generator_version: int
    target_bytes: int
    pool: str = ""  # Pool.key() when the SHINE pages are shared with other files
    epoch: int = 0
    owned_share: float = OWNED_SHARE
    records: dict[str, int] = field(default_factory=dict)  # by WARC-Type
    responses: int = 0
    html_responses: int = 0  # text/html, any status
    by_status: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)  # article, jpeg, json, ...
    content_encoded: int = 0  # responses kept with Content-Encoding: gzip
    hosts: int = 0  # distinct hosts seen
    owned_captures: int = 0  # SHINE article responses (recrawls included)
    owned_pages: int = 0  # distinct SHINE article URLs
    owned_ip_pages: int = 0  # of those, about IP: what an import should store
    owned_listing: int = 0  # SHINE section pages (not articles)
    owned_encoded: int = 0  # SHINE article captures with Content-Encoding: gzip
    recrawls_identical: int = 0  # a SHINE URL again, the same bytes
    recrawls_edited: int = 0  # a SHINE URL again, its text edited
    owned_versions: int = 0  # distinct (URL, text) of IP pages: versions an import keeps
    bytes_compressed: int = 0
    bytes_uncompressed: int = 0  # the WARC records before gzip
    seconds: float = 0.0  # generation time
    owned: dict[str, dict] = field(default_factory=dict)  # URL -> ip, versions in order

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(dataclasses.asdict(self), indent=1) + "\n",
                        encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


# --- writing ------------------------------------------------------------------------------
class _Member:
    """One gzip member per record (what makes a WARC seekable by record), at ZLIB_LEVEL;
    counts the bytes it is given."""

    def __init__(self, out: io.BufferedWriter, counter: list[int]) -> None:
        self.out, self.counter = out, counter
        self.z = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def write(self, data: bytes) -> None:
        self.counter[0] += len(data)
        self.out.write(self.z.compress(data))

    def flush(self) -> None:
        self.out.write(self.z.flush())


class _Writer(WARCWriter):
    """warcio's WARCWriter(gzip=True), with its per-record gzip member at ZLIB_LEVEL
    instead of 9, and counting the uncompressed bytes."""

    def __init__(self, out: io.BufferedWriter) -> None:
        super().__init__(out, gzip=True, warc_version="1.0")
        self.raw = [0]

    def _write_warc_record(self, out, record) -> None:  # type: ignore[no-untyped-def]
        self.gzip = False  # the base class would wrap `out` in its own level-9 member
        try:
            super()._write_warc_record(_Member(out, self.raw), record)
        finally:
            self.gzip = True


def _reason(status: int) -> str:
    return {200: "OK", 301: "Moved Permanently", 404: "Not Found"}[status]


class _Generator:
    def __init__(self, out: io.BufferedWriter, target: int, seed: int, pool: Pool | None,
                 epoch: int, owned_share: float, manifest: Manifest) -> None:
        self.out, self.target, self.seed = out, target, seed
        self.pool, self.epoch, self.m = pool, epoch, manifest
        self.owned_share = owned_share
        self.rng = random.Random(seed)
        self.news = NewsText(seed)
        self.shine = Shine(pool.seed if pool else seed, NewsText(pool.seed) if pool
                           else self.news)
        self.sites = Sites(seed, self.news, self.shine.corpus.clauses)
        self.writer = _Writer(out)
        self.start = START + FILE_SPAN * epoch
        self.hosts: set[int] = set()
        self.next_k = 0  # the next new SHINE page of a private pool
        self.shown: dict[int, int] = {}  # SHINE page -> version last written in this file
        self.ip_versions: set[tuple[str, int]] = set()
        self.warcinfo_id = ""

    # -- records --
    def _id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"

    def progress(self) -> float:
        return min(self.out.tell() / self.target, 0.999_999)

    def _count(self, kind: str) -> None:
        self.m.records[kind] = self.m.records.get(kind, 0) + 1

    def warcinfo(self, filename: str) -> None:
        info = {"software": f"ipnews bench/warcgen.py {GENERATOR_VERSION} (synthetic)",
                "format": "WARC File Format 1.0", "isPartOf": "CC-NEWS-synthetic",
                "description": f"seed {self.seed}, a synthetic CC-NEWS file for benchmarks",
                "operator": "nobody", "robots": "checked via crawler-commons"}
        payload = "".join(f"{k}: {v}\r\n" for k, v in info.items()).encode("utf-8")
        self.warcinfo_id = self._id()
        record = self.writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(payload), length=len(payload),
            warc_headers_dict={"WARC-Record-ID": self.warcinfo_id,
                               "WARC-Date": self._date(self.start),
                               "WARC-Filename": filename})
        self.writer.write_record(record)
        self._count("warcinfo")

    @staticmethod
    def _date(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def exchange(self, url: str, when: datetime, status: int, headers: list[tuple[str, str]],
                 body: bytes, content_type: str, encode: bool = False) -> bool:
        """A request record and its response, as Common Crawl writes them. encode=True:
        the body goes in gzipped, with Content-Encoding: gzip. Returns whether it did."""
        host = url.split("/")[2]
        path = url.split(host, 1)[1] or "/"
        request = StatusAndHeaders(f"GET {path} HTTP/1.1", [
            ("User-Agent", USER_AGENT), ("Accept", "text/html,application/xhtml+xml,"
                                                   "application/xml;q=0.9,*/*;q=0.8"),
            ("Accept-Language", "en-US,en;q=0.5"), ("Accept-Encoding", "br,gzip"),
            ("Host", host), ("Connection", "Keep-Alive")], is_http_request=True)
        http_date = format_datetime(when, usegmt=True)
        head = [("Date", http_date), *headers, ("Content-Type", content_type)]
        if encode:
            body = gzip.compress(body, compresslevel=ZLIB_LEVEL, mtime=0)
            head.append(("Content-Encoding", "gzip"))
            self.m.content_encoded += 1
        elif content_type.startswith(("text/", "application/json")) and (
                self.rng.random() < CRAWLER_DECODED_SHARE):
            head.append(("X-Crawler-Content-Encoding", "gzip"))
        head.append(("Content-Length", str(len(body))))
        response = StatusAndHeaders(f"{status} {_reason(status)}", head, protocol="HTTP/1.1")
        date = self._date(when)
        response_id = self._id()
        ip = f"{self.rng.randrange(1, 224)}.{self.rng.randrange(256)}.{self.rng.randrange(256)}." \
             f"{self.rng.randrange(1, 255)}"
        common = {"WARC-Date": date, "WARC-IP-Address": ip,
                  "WARC-Warcinfo-ID": self.warcinfo_id}
        req = self.writer.create_warc_record(
            url, "request", http_headers=request,
            warc_headers_dict={"WARC-Record-ID": self._id(), **common,
                               "WARC-Concurrent-To": response_id})
        resp = self.writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), length=len(body), http_headers=response,
            warc_headers_dict={"WARC-Record-ID": response_id, **common})
        self.writer.write_record(req)
        self.writer.write_record(resp)
        self._count("request")
        self._count("response")
        self.m.responses += 1
        self.m.html_responses += content_type.startswith("text/html")
        self.m.by_status[str(status)] = self.m.by_status.get(str(status), 0) + 1
        return encode

    def _kind(self, kind: str) -> None:
        self.m.by_kind[kind] = self.m.by_kind.get(kind, 0) + 1

    # -- one fetched URL --
    def one(self) -> None:
        rng = self.rng
        t = self.progress()
        when = self.start + FILE_SPAN * t
        draw = rng.random()
        if draw < self.owned_share:
            if rng.random() < OWNED_LISTING_SHARE:
                url, body = self.shine.listing_page(rng)
                self._shine(url, body, when)
                self.m.owned_listing += 1
                self._kind("shine section page")
            else:
                self.shine_article(when, self.epoch + t)
            return
        h = self.sites.pick(rng)
        self.hosts.add(h)
        host = self.sites.host(h)
        base = [("Server", host.server), ("Cache-Control", "max-age=300"),
                ("Vary", "Accept-Encoding"), ("Connection", "close")]
        draw = rng.random()
        if draw < NON_HTML_SHARE:
            self.other(host, base, when)
            return
        draw -= NON_HTML_SHARE
        charset = "GBK" if host.charset == "gbk" else "UTF-8"
        ctype = (f"text/html; charset={charset}" if host.charset_in_header else "text/html")
        url = self.sites.url(host, rng, when)
        if draw < REDIRECT_SHARE:
            target = url.rstrip("/") + "/amp/" if rng.random() < 0.5 else \
                url.replace("https://", "https://m.", 1)
            body = (f"<html><head><title>301 Moved Permanently</title></head><body><h1>Moved "
                    f'Permanently</h1><p>The document has moved <a href="{target}">here</a>.'
                    f"</p></body></html>\n").encode("ascii")
            self.exchange(url, when, 301, [*base, ("Location", target)], body,
                          "text/html; charset=iso-8859-1")
            self._kind("301")
            return
        draw -= REDIRECT_SHARE
        missing = draw < NOT_FOUND_SHARE
        body = self.sites.article(host, url, rng, when, not_found=missing)
        self.exchange(url, when, 404 if missing else 200,
                      [*base, ("Last-Modified", format_datetime(when - timedelta(minutes=5),
                                                                usegmt=True))],
                      body, ctype, encode=rng.random() < CONTENT_ENCODED_SHARE)
        self._kind("404" if missing else f"article {host.lang} {host.charset}")

    def other(self, host: Host, base: list[tuple[str, str]], when: datetime) -> None:
        rng = self.rng
        draw = rng.random()
        if draw < 0.5:
            size = int(5_000 * 20 ** rng.random())  # 5-100 KB
            body = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(size) + b"\xff\xd9"
            url = f"https://{host.name}/images/{when:%Y/%m}/{_ident(rng)}-{rng.randrange(10**6)}.jpg"
            self.exchange(url, when, 200, base, body, "image/jpeg")
            self._kind("image/jpeg")
        elif draw < 0.8:
            items = [{"id": rng.randrange(10**7), "title": self.news.titles[rng.randrange(
                NewsText.POOL)], "url": f"https://{host.name}/news/{rng.randrange(10**7)}",
                "ts": when.isoformat()} for _ in range(rng.randint(3, 40))]
            body = json.dumps({"items": items}).encode("utf-8")
            self.exchange(f"https://{host.name}/api/v1/latest?page={rng.randint(1, 9)}", when,
                          200, base, body, "application/json; charset=utf-8")
            self._kind("application/json")
        else:
            body = ("User-agent: *\nDisallow: /search\nDisallow: /admin/\n"
                    f"Sitemap: https://{host.name}/sitemap.xml\n").encode("ascii")
            self.exchange(f"https://{host.name}/robots.txt", when, 200, base, body,
                          "text/plain")
            self._kind("robots.txt")

    def _shine(self, url: str, body: bytes, when: datetime) -> bool:
        # SHINE's own headers: IIS, text/html with no charset (the page has a BOM).
        headers = [("Server", "Microsoft-IIS/10.0"), ("X-Powered-By", "ASP.NET"),
                   ("Cache-Control", "private")]
        return self.exchange(url, when, 200, headers, body, "text/html",
                             encode=self.rng.random() < CONTENT_ENCODED_SHARE)

    def shine_article(self, when: datetime, clock: float) -> None:
        rng = self.rng
        if self.pool is not None:
            k = rng.randrange(self.pool.size)
            version = self.pool.version(k, clock)
        elif self.shown and rng.random() < RECRAWL_SHARE:
            k = rng.choice(sorted(self.shown))
            version = self.shown[k] + (rng.random() < RECRAWL_EDITED)
        else:
            k, self.next_k = self.next_k, self.next_k + 1
            version = 0
        url, body, ip = self.shine.article_page(k, version)
        if k in self.shown:
            if version == self.shown[k]:
                self.m.recrawls_identical += 1
            else:
                self.m.recrawls_edited += 1
        self.shown[k] = version
        encoded = self._shine(url, body, when)
        seen = self.m.owned.setdefault(url, {"ip": ip, "versions": []})
        seen["versions"].append(version)
        self.m.owned_captures += 1
        self.m.owned_encoded += encoded
        if ip:
            self.ip_versions.add((url, version))
        self._kind("shine article")

    def run(self, filename: str) -> None:
        self.warcinfo(filename)
        while self.out.tell() < self.target:
            self.one()
        m = self.m
        m.hosts = len(self.hosts)
        m.owned_pages = len(m.owned)
        m.owned_ip_pages = sum(1 for v in m.owned.values() if v["ip"])
        m.owned_versions = len(self.ip_versions)
        m.bytes_compressed = self.out.tell()
        m.bytes_uncompressed = self.writer.raw[0]


def generate(path: Path, target_bytes: int, seed: int = DEFAULT_SEED, *,
             pool: Pool | None = None, epoch: int = 0,
             owned_share: float = OWNED_SHARE) -> Manifest:
    """Write a WARC of about target_bytes (gzip, it stops at the first record that
    reaches it) at path, and its manifest beside it (path + ".json"). With a pool, the SHINE
    pages are drawn from it and the file covers the pool's time `epoch`. owned_share above
    CC-NEWS's lets a small file hold enough SHINE pages for a correctness check."""
    path = Path(path)
    manifest = Manifest(seed, GENERATOR_VERSION, target_bytes,
                        pool=pool.key() if pool else "", epoch=epoch, owned_share=owned_share)
    began = time.perf_counter()
    with open(path, "wb", buffering=1 << 20) as out:
        # cached() writes X.partial and renames it: the warcinfo names the final file.
        _Generator(out, target_bytes, seed, pool, epoch, owned_share, manifest).run(
            path.name.removesuffix(".partial"))
    manifest.seconds = round(time.perf_counter() - began, 2)
    manifest.write(manifest_path(path))
    return manifest


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def size_label(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def parse_size(text: str) -> int:
    """'50MB', '1GB', '200KB', '1.5GB', '123' (bytes); decimal units, as file sizes go."""
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "K": 10**3, "M": 10**6, "G": 10**9}
    t = text.strip().upper()
    for unit in sorted(units, key=len, reverse=True):
        if t.endswith(unit):
            return int(float(t[: -len(unit)]) * units[unit])
    return int(t)


def cached(target_bytes: int, seed: int = DEFAULT_SEED, *, pool: Pool | None = None,
           epoch: int = 0, owned_share: float = OWNED_SHARE,
           log=print) -> tuple[Path, Manifest]:
    """The file under bench/.cache/, generated on first use. The key holds the size, the
    seed, this generator's version and corpus's and mirror's (their text and template are
    in the SHINE pages); the manifest is written last, so a file without one is redone."""
    key = (f"warc-{size_label(target_bytes)}-g{GENERATOR_VERSION}-c{corpus.GENERATOR_VERSION}"
           f"-m{mirror.MIRROR_VERSION}-s{seed}"
           + (f"-{pool.key()}-e{epoch}" if pool else "")
           + (f"-o{owned_share:g}" if owned_share != OWNED_SHARE else ""))
    path = CACHE / f"{key}.warc.gz"
    if manifest_path(path).exists() and path.exists():
        return path, Manifest.read(manifest_path(path))
    CACHE.mkdir(parents=True, exist_ok=True)
    log(f"generating a synthetic CC-NEWS WARC of {size_label(target_bytes)} in {path} ...")
    partial = path.with_name(path.name + ".partial")
    manifest = generate(partial, target_bytes, seed, pool=pool, epoch=epoch,
                        owned_share=owned_share)
    partial.replace(path)
    manifest_path(partial).replace(manifest_path(path))
    log(f"  {manifest.responses:,} responses, {manifest.owned_pages:,} SHINE articles "
        f"in {manifest.seconds:.0f} s")
    return path, manifest


# --- checking by hand -----------------------------------------------------------------------
def check(path: Path, manifest: Manifest) -> list[str]:
    """Read the file back with warcio and compare with the manifest; the SHINE stories'
    IP labels against ipnews.relevance. The problems found (empty: none)."""
    from warcio.archiveiterator import ArchiveIterator

    from ipnews.relevance import is_ip_related
    from ipnews.sources import get_source_class

    shine = get_source_class("shine")()
    problems: list[str] = []
    records: dict[str, int] = {}
    owned: dict[str, list[str]] = {}
    encoded = 0
    with open(path, "rb") as f:
        for record in ArchiveIterator(f):
            records[record.rec_type] = records.get(record.rec_type, 0) + 1
            if record.rec_type != "response":
                continue
            encoded += record.http_headers.get_header("Content-Encoding") == "gzip"
            url = record.rec_headers.get_header("WARC-Target-URI")
            if url in manifest.owned:
                text = record.content_stream().read().decode("utf-8-sig")
                article = shine.extract(text, url)
                ip = is_ip_related(article.title, article.summary or "", article.body)
                if ip != manifest.owned[url]["ip"]:
                    problems.append(f"{url}: labelled ip={manifest.owned[url]['ip']}, "
                                    f"relevance says {ip}")
                if not (article.title and article.published_at and len(article.body) > 500):
                    problems.append(f"{url}: shine parser got title={article.title!r} "
                                    f"published={article.published_at!r} body={len(article.body)}")
                owned.setdefault(url, []).append(article.content_hash)
            else:
                record.content_stream().read()
    if records != manifest.records:
        problems.append(f"records {records} != manifest {manifest.records}")
    if encoded != manifest.content_encoded:
        problems.append(f"{encoded} gzip-encoded responses, manifest says "
                        f"{manifest.content_encoded}")
    for url, hashes in owned.items():
        versions = manifest.owned[url]["versions"]
        if len(set(hashes)) != len(set(versions)):
            problems.append(f"{url}: {len(set(hashes))} texts, manifest versions {versions}")
    if set(owned) != set(manifest.owned):
        problems.append(f"{len(owned)} SHINE URLs read, manifest has {len(manifest.owned)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="50MB", help="compressed size (50MB, 1GB)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, required=True, help="the .warc.gz to write")
    parser.add_argument("--check", action="store_true",
                        help="read it back with warcio and check it against the manifest")
    args = parser.parse_args(argv)
    m = generate(args.out, parse_size(args.size), args.seed)
    summary = {k: v for k, v in dataclasses.asdict(m).items() if k != "owned"}
    print(json.dumps(summary, indent=1))
    rate = m.bytes_compressed / 1e6 / m.seconds
    print(f"{m.bytes_compressed / 1e6:.1f} MB ({m.bytes_uncompressed / m.bytes_compressed:.1f}x "
          f"compressed) in {m.seconds:.1f} s: {rate:.1f} MB/s", file=sys.stderr)
    if args.check:
        problems = check(args.out, m)
        for p in problems:
            print("PROBLEM", p, file=sys.stderr)
        print(f"check: {len(problems)} problems", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
