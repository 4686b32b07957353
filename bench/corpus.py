"""A deterministic synthetic corpus of IP news about China, for the benchmarks.

Article i is a pure function of (seed, i): the archives and the HTTP mirror can be rebuilt
byte for byte, and any article can be made without making the ones before it.

Realism that matters for the figures: titles of 8-14 words, bodies of 300-900 words in 5-12
paragraphs, ~10% of articles with Chinese paragraphs, dates spread over 2015-2025, two
sources. Query cost in FTS5 depends on how many rows hold the query terms, so the search
words are NOT in the general vocabulary; they are injected at controlled document
frequencies (see TERMS), and everything else is background.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property

# Bump when the output changes: cached archives are keyed by it.
GENERATOR_VERSION = 2
DEFAULT_SEED = 20241116

SHANGHAI = timezone(timedelta(hours=8))
START = datetime(2015, 1, 1, tzinfo=SHANGHAI)
SPAN_SECONDS = int((datetime(2026, 1, 1, tzinfo=SHANGHAI) - START).total_seconds())

# The search terms and their document frequencies. None of these words occurs in the
# background vocabulary, so the share of rows that contain them is what is set here.
RARE_WORD = "moonstone"
RARE_EVERY = 10_000  # exactly one article in 10,000 (0.01%)
COMMON_WORD = "customs"
COMMON_SHARE = 0.05
VERY_COMMON_WORD = "said"
VERY_COMMON_SHARE = 0.95
PHRASE = "punitive damages"
PHRASE_SHARE = 0.02
CHINESE_SHARE = 0.10  # English articles with a Chinese paragraph or two
CTPLO_SHARE = 0.35
# Articles written in Chinese (CNIPA, People's Daily), made of the clauses of the Chinese
# fixture articles: real words, real character pairs, their real frequencies. Only the
# search archives have them (Corpus(zh_share=...)); the fetch mirrors stay SHINE's, as
# before, so that their figures compare with earlier runs.
ZH_ARTICLE_SHARE = 0.20
ZH_TERMS = ("海关", "知识产权")  # a two- and a four-character term the benchmark searches



def _words(text: str) -> list[str]:
    return text.split()


# Background vocabulary: the words of IP news (no search term among them).
_NOUNS = _words("""court courts trademark trademarks patent patents copyright brand brands company
companies firm firms case cases ruling judgment lawsuit plaintiff defendant owner owners
rights holder holders infringement infringer counterfeit counterfeits goods products
market markets platform platforms seller sellers buyer consumers authorities regulator
regulators office administration bureau police prosecutors investigation raid warehouse
factory factories shipment shipments container logo logos design designs software
film films music games streaming app apps website websites operator operators damages
compensation fine fines penalty penalties yuan million billion percent year years month
months week application applications filing filings examination examiner registration
registrations invalidation opposition squatter squatters license licensing licensee
agreement settlement dispute disputes evidence hearing appeal appeals tribunal judge
judges lawyer lawyers firm's industry sector technology technologies innovation inventors
invention inventions university universities research enterprise enterprises exporter
exporters importers manufacturer manufacturers supplier suppliers chain network networks
campaign crackdown inspection inspections province city district region border port ports
airport e-commerce livestream livestreams video videos novel novels author authors
publisher publishers artist artists photographer photographs""")
_VERBS = _words("""ruled ordered fined seized found confirmed rejected upheld overturned awarded
filed announced launched reported issued granted revoked cancelled registered approved
dismissed sued accused denied claimed argued noted added stressed warned urged pledged
investigated inspected detained arrested closed shut blocked removed withdrew settled
agreed signed published released introduced adopted amended strengthened improved
expanded tightened reviewed examined handled received recorded processed""")
_ADJECTIVES = _words("""new local national foreign domestic international major leading small
large online offline fake illegal unauthorized registered pending final first second
higher lower record annual monthly total average criminal civil administrative joint
special high-tech cross-border well-known famous original identical similar
commercial exclusive digital legal senior intermediate""")
_FUNCTION = _words("""the the the the a a an of of of in in in to to to and and and for for on on
with with by by at from that that this these its their as as was was were is is be has
have had it it which who after before over under against between more than about also
not only but or""")
_PLACES = _words("""Shanghai Beijing Shenzhen Guangzhou Hangzhou Suzhou Nanjing Chengdu Wuhan Xiamen
Ningbo Tianjin Chongqing Qingdao Dongguan Yiwu Jiangsu Zhejiang Guangdong Fujian Shandong
China Pudong Hongkong""")
_BODIES = ["CNIPA", "SAMR", "the Supreme People's Court", "the Beijing IP Court",
           "the Shanghai IP Court", "the Guangzhou IP Court", "the State Council",
           "the General Administration", "WIPO", "the market regulator",
           "the copyright administration", "a district court", "an appeals court"]
_IP_TERMS = ["trademark", "patent", "copyright", "counterfeit", "infringement", "piracy",
             "trade secret", "intellectual property", "IP rights", "pirated"]
_PEOPLE = ["Zhang Wei", "Wang Fang", "Li Na", "Liu Yang", "Chen Jing", "Yang Min",
           "Zhao Lei", "Huang Li", "Zhou Ting", "Wu Hao", "Xu Jing", "Sun Yue", "Ma Lin",
           "Hu Min", "Guo Qiang", "Lin Hui", "He Ping", "Gao Xiang", "Luo Jun", "Zheng Yu"]
_ROLES = ["a judge", "a spokesperson", "an official", "the lawyer", "a prosecutor",
          "an analyst", "the company", "a researcher", "the plaintiff", "an examiner"]
_CHINESE = ["知识产权保护工作取得新进展", "法院依法判决被告停止侵权并赔偿经济损失",
            "市场监管部门查处一批商标侵权案件", "专利申请数量持续增长", "海关查获大量假冒商品",
            "版权部门开展打击网络盗版专项行动", "企业应加强商业秘密保护", "地理标志产品受到保护",
            "该案涉及外观设计专利", "权利人可以向人民法院提起诉讼", "电商平台下架侵权商品链接",
            "相关负责人表示将继续加大执法力度", "此案入选年度典型案例", "商标注册申请审查周期缩短"]
_SECTIONS = {"shine": ["News / Nation", "News / Metro", "Biz / Company", "Biz / Tech"],
             "ctplo": ["News", "Trademark", "Patent", "Copyright"]}

_POOL_SIZE = 6000
_TERM_POOL_SIZE = 500
# Real news has a long tail of names, numbers and rare words, and the FTS index size and
# build time depend on it (a small closed vocabulary makes both flattering). Each article
# gets a few sentences of tail tokens drawn per article, so they are not shared via the pool.
_TAIL_SIZE = 60_000
_TAIL_SENTENCES = (1, 4)
_SYLLABLES = [c + v for c in "bdfghjklmnprstvwxz" for v in "aeiou"] + ["ang", "eng", "ong",
                                                                      "ian", "uan", "ao"]


@dataclass
class Article:
    """One synthetic article: the fields a stored ipnews article has."""

    index: int
    source: str
    title: str
    summary: str
    paragraphs: list[str]
    published: datetime
    author: str
    section: str
    has_terms: dict[str, bool] = field(default_factory=dict)
    language: str = "en"

    @cached_property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def published_at(self) -> str:
        return self.published.isoformat(timespec="seconds")

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


def _zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) ** 0.8 for rank in range(n)]


class Corpus:
    """make(i) is article i. Pools of sentences and titles are built once per seed (~0.3 s):
    assembling articles from whole sentences keeps generation fast enough for 1M rows."""

    def __init__(self, seed: int = DEFAULT_SEED, zh_share: float = 0.0) -> None:
        self.seed = seed
        self.zh_share = zh_share
        rng = random.Random(seed)
        self._content = _NOUNS + _VERBS + _ADJECTIVES + _PLACES
        self._weights = _zipf_weights(len(self._content))
        rng.shuffle(self._content)  # which word is frequent is itself seeded
        self.pool = [self._sentence(rng) for _ in range(_POOL_SIZE)]
        self.pool_words = [s.count(" ") + 1 for s in self.pool]
        self.titles = [self._title(rng) for _ in range(_POOL_SIZE)]
        self.tail = _tail_vocabulary(rng, set(self._content) | set(_FUNCTION))
        self.tail_weights = list(itertools.accumulate(_zipf_weights(len(self.tail))))
        # Sentences that carry one search term each ("said" only ever comes from a quote).
        self.clauses = _chinese_clauses()
        self.term_pools = {
            VERY_COMMON_WORD: [self._quote(rng) for _ in range(_TERM_POOL_SIZE)],
            **{t: [self._sentence(rng, t) for _ in range(_TERM_POOL_SIZE)]
               for t in (COMMON_WORD, PHRASE, RARE_WORD)},
        }

    # -- sentences --
    def _sentence(self, rng: random.Random, extra: str = "") -> str:
        n = rng.randint(8, 22)
        words = []
        for _ in range(n):
            if rng.random() < 0.45:
                words.append(rng.choice(_FUNCTION))
            else:
                words.append(rng.choices(self._content, self._weights)[0])
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), rng.choice(_IP_TERMS))
        if rng.random() < 0.15:
            words.insert(rng.randrange(len(words)), rng.choice(_BODIES))
        if extra:
            words.insert(rng.randrange(len(words) + 1), extra)
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def _tail_sentence(self, rng: random.Random) -> str:
        """Names, numbers and rare words of this article, among common words."""
        tail = rng.choices(self.tail, cum_weights=self.tail_weights, k=rng.randint(4, 9))
        words = [*tail, *(rng.choice(_FUNCTION) for _ in range(4)),
                 str(rng.randint(2, 99_999)), rng.choice(_PLACES)]
        rng.shuffle(words)
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def _quote(self, rng: random.Random) -> str:
        # "said" only ever comes from here.
        who = rng.choice(_PEOPLE + _ROLES)
        return f"{self._sentence(rng)[:-1]}, {who} {VERY_COMMON_WORD}."

    def _title(self, rng: random.Random) -> str:
        n = rng.randint(8, 14)
        term = rng.choice(_IP_TERMS)  # every title is about IP, as a kept SHINE story is
        words = [rng.choices(self._content, self._weights)[0]
                 for _ in range(n - 1 - len(term.split()))]
        words.insert(rng.randrange(len(words)), term)
        words.insert(0, rng.choice(_PLACES))
        text = " ".join(words)
        return text[0].upper() + text[1:]

    # -- articles --
    def make(self, i: int) -> Article:
        rng = random.Random(self.seed * 1_000_003 + i)
        # Drawn only when asked for: without Chinese articles, article i is what it was.
        if self.zh_share and rng.random() < self.zh_share:
            return self._chinese(i, rng)
        source = "ctplo" if rng.random() < CTPLO_SHARE else "shine"
        terms = {
            VERY_COMMON_WORD: rng.random() < VERY_COMMON_SHARE,
            COMMON_WORD: rng.random() < COMMON_SHARE,
            PHRASE: rng.random() < PHRASE_SHARE,
            RARE_WORD: i % RARE_EVERY == RARE_EVERY // 2,
        }
        # The sentences carrying a search term are chosen first and counted in the length,
        # then background sentences fill the body up to its target length.
        sentences = []
        for term, present in terms.items():
            if present:
                pool = self.term_pools[term]
                sentences += [pool[rng.randrange(len(pool))] for _ in range(rng.randint(1, 2))]
        for _ in range(rng.randint(*_TAIL_SENTENCES)):
            sentences.append(self._tail_sentence(rng))
        words = sum(s.count(" ") + 1 for s in sentences)
        target_words = rng.randint(300, 878)
        while words < target_words:
            k = rng.randrange(_POOL_SIZE)
            sentences.append(self.pool[k])
            words += self.pool_words[k]
        rng.shuffle(sentences)
        chinese = rng.randint(1, 2) if rng.random() < CHINESE_SHARE else 0
        paragraphs = _split(sentences, rng.randint(5, 12) - chinese, rng)
        for _ in range(chinese):
            text = "，".join(rng.choices(_CHINESE, k=rng.randint(3, 6))) + "。"
            paragraphs.insert(rng.randrange(len(paragraphs) + 1), text)
        published = START + timedelta(minutes=rng.randrange(SPAN_SECONDS // 60))
        return Article(
            index=i, source=source, title=self.titles[rng.randrange(_POOL_SIZE)],
            summary=self.pool[rng.randrange(_POOL_SIZE)], paragraphs=paragraphs,
            published=published, author=rng.choice(_PEOPLE),
            section=rng.choice(_SECTIONS[source]), has_terms=terms,
        )


    def _chinese(self, i: int, rng: random.Random) -> Article:
        def sentence(k: int) -> str:
            return "，".join(rng.choice(self.clauses) for _ in range(k)) + "。"

        paragraphs = [sentence(rng.randint(3, 8)) for _ in range(rng.randint(5, 12))]
        published = START + timedelta(minutes=rng.randrange(SPAN_SECONDS // 60))
        source = rng.choice(("cnipa", "people-ip"))
        return Article(
            index=i, source=source, title="".join(rng.choice(self.clauses) for _ in range(2)),
            summary=sentence(1), paragraphs=paragraphs, published=published,
            author=rng.choice(_PEOPLE), section="新闻", language="zh",
            has_terms=dict.fromkeys((VERY_COMMON_WORD, COMMON_WORD, PHRASE, RARE_WORD), False))


def _chinese_clauses() -> list[str]:
    """The clauses (between punctuation marks) of the Chinese fixture articles' text."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "fixtures"
    clauses: list[str] = []
    for name in ("cnipa", "people-ip", "ipcourt"):
        for golden in sorted((root / name / "expected").glob("*.json")):
            e = json.loads(golden.read_text("utf-8"))["expected"]
            text = f"{e['title']}。{e['body']}"
            clauses += [c for c in re.split(r"[，。；：、！？“”‘’（）《》\s]+", text)
                        if 2 <= len(c) <= 40]
    return sorted(set(clauses))


def _tail_vocabulary(rng: random.Random, taken: set[str]) -> list[str]:
    """_TAIL_SIZE distinct pseudo-words of 2-4 syllables (names of firms, people, places),
    none of them a search term or a background word."""
    reserved = taken | {RARE_WORD, COMMON_WORD, VERY_COMMON_WORD, *PHRASE.split()}
    out: dict[str, None] = {}
    while len(out) < _TAIL_SIZE:
        word = "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4)))
        if word not in reserved:
            out[word] = None
    words = list(out)
    return [w.capitalize() if i % 3 == 0 else w for i, w in enumerate(words)]


def _split(sentences: list[str], parts: int, rng: random.Random) -> list[str]:
    """Cut a list of sentences into `parts` non-empty paragraphs at random places."""
    parts = max(1, min(parts, len(sentences)))
    cuts = sorted(rng.sample(range(1, len(sentences)), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, len(sentences)]
    return [" ".join(sentences[a:b]) for a, b in itertools.pairwise(bounds)]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
