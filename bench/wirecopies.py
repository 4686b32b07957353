"""Wire stories and their copies, with the truth: the corpus of the clustering benchmark.

A story is a wire report (80% English, 20% Chinese) built around its facts: an authority or
a place (Shanghai customs, the Beijing IP Court, 上海海关), a number (1,200 pairs, 1.8万双), a
date (Nov. 20, 11月20日), a party (a brand, a plaintiff), and sometimes a case or a patent
number, among filler paragraphs made of corpus.py's sentences (Chinese: the clauses of the
Chinese fixture articles). Each story reaches 1-4 outlets (xinhua, shine, chinadaily,
globaltimes, people-ip), each copy with the edits editors make, drawn at random: a dateline
added, removed or changed, "U.S." for "US", the last paragraphs trimmed, a paragraph split or
two merged, a new headline, a word or two changed, an editor's line appended, curly quotes.

Hard negatives: about 15% of stories have a near miss, another story made of the same text
with ONE fact changed (the number, the place, the date, the party, the case or patent
number). It is a story of its own, with its own copies; its articles carry `near_miss_of`
(the original's label) and `changed` (which fact).

Deterministic: story k is a function of (seed, k) alone, and `articles(n)` is a prefix of
`articles(m)` for n < m (articles come out in order of publication, copies interleaved with
other stories as a nightly fetch would store them).
"""

from __future__ import annotations

import hashlib
import heapq
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import corpus

# Bump when the output changes: cached archives are keyed by it.
GENERATOR_VERSION = 2
DEFAULT_SEED = 20241120

SHANGHAI = timezone(timedelta(hours=8))
START = datetime(2020, 1, 1, 7, 0, tzinfo=SHANGHAI)
STEP_MINUTES = 60  # one story an hour: 45,000 stories (~100k articles) span five years
ZH_SHARE = 0.20
NEAR_MISS_SHARE = 0.15
COPY_WEIGHTS = ((1, 0.35), (2, 0.30), (3, 0.20), (4, 0.15))  # articles per story
NEW_STORY_BASE = 10_000_000  # story numbers of the stories `more` makes

OUTLETS = ("xinhua", "shine", "chinadaily", "globaltimes", "people-ip")
OUTLETS_ZH = ("xinhua", "people-ip", "chinadaily", "globaltimes")

# --- the facts ----------------------------------------------------------------------------
CITIES = {  # English, Chinese, the court's code in case numbers (Chinese, pinyin)
    "Shanghai": ("上海", "沪", "Hu"), "Ningbo": ("宁波", "浙02", "Zhe 02"),
    "Shenzhen": ("深圳", "粤03", "Yue 03"), "Guangzhou": ("广州", "粤73", "Yue 73"),
    "Xiamen": ("厦门", "闽02", "Min 02"), "Qingdao": ("青岛", "鲁02", "Lu 02"),
    "Tianjin": ("天津", "津03", "Jin 03"), "Dalian": ("大连", "辽02", "Liao 02"),
    "Nanjing": ("南京", "苏01", "Su 01"), "Hangzhou": ("杭州", "浙01", "Zhe 01"),
    "Beijing": ("北京", "京73", "Jing 73"), "Chengdu": ("成都", "川01", "Chuan 01"),
    "Wuhan": ("武汉", "鄂01", "E 01"), "Fuzhou": ("福州", "闽01", "Min 01"),
    "Suzhou": ("苏州", "苏05", "Su 05"), "Jinan": ("济南", "鲁01", "Lu 01"),
    "Zhengzhou": ("郑州", "豫01", "Yu 01"), "Changsha": ("长沙", "湘01", "Xiang 01"),
    "Xi'an": ("西安", "陕01", "Shaan 01"), "Kunming": ("昆明", "云01", "Yun 01"),
}
CUSTOMS_CITIES = ("Shanghai", "Ningbo", "Shenzhen", "Guangzhou", "Xiamen", "Qingdao",
                  "Tianjin", "Dalian", "Nanjing", "Hangzhou", "Beijing", "Chengdu", "Fuzhou",
                  "Kunming")
IP_COURTS = ("Beijing", "Shanghai", "Guangzhou")  # the IP courts; the others: intermediate
RAID_CITIES = ("Yiwu", "Putian", "Dongguan", "Jinjiang", "Guangzhou", "Shenzhen", "Wenzhou",
               "Quanzhou", "Linyi", "Foshan")
RAID_ZH = {"Yiwu": "义乌", "Putian": "莆田", "Dongguan": "东莞", "Jinjiang": "晋江",
           "Guangzhou": "广州", "Shenzhen": "深圳", "Wenzhou": "温州", "Quanzhou": "泉州",
           "Linyi": "临沂", "Foshan": "佛山"}
BRANDS = (("Nike", "耐克"), ("Adidas", "阿迪达斯"), ("Puma", "彪马"), ("New Balance", "新百伦"),
          ("Louis Vuitton", "路易威登"), ("Chanel", "香奈儿"), ("Gucci", "古驰"),
          ("Apple", "苹果"), ("Huawei", "华为"), ("Xiaomi", "小米"), ("Lego", "乐高"),
          ("Disney", "迪士尼"), ("Canon", "佳能"), ("Bosch", "博世"), ("Michelin", "米其林"),
          ("Under Armour", "安德玛"), ("Skechers", "斯凯奇"), ("Converse", "匡威"),
          ("Dyson", "戴森"), ("Philips", "飞利浦"), ("Panasonic", "松下"), ("Hermes", "爱马仕"),
          ("Burberry", "博柏利"), ("Samsung", "三星"), ("Sony", "索尼"), ("Moutai", "茅台"))
PRODUCTS = (("pairs", "sneakers", "双", "运动鞋"), ("pieces", "handbags", "个", "箱包"),
            ("units", "earphones", "副", "耳机"), ("pieces", "toys", "件", "玩具"),
            ("bottles", "perfume", "瓶", "香水"), ("pieces", "garments", "件", "服装"),
            ("units", "phone chargers", "个", "手机充电器"),
            ("pairs", "sunglasses", "副", "太阳镜"),
            ("pieces", "watches", "块", "手表"), ("units", "hair dryers", "台", "吹风机"))
DESTINATIONS = (("the U.S.", "美国"), ("Europe", "欧洲"), ("Africa", "非洲"),
                ("the Middle East", "中东"), ("South America", "南美"), ("Russia", "俄罗斯"),
                ("Southeast Asia", "东南亚"), ("the U.K.", "英国"))
DECLARED = (("plastic toys", "塑料玩具"), ("textiles", "纺织品"), ("sports shoes", "运动鞋"),
            ("daily necessities", "日用品"), ("electronic parts", "电子配件"),
            ("general merchandise", "杂货"))
PEOPLE = (("Zhang Wei", "张伟"), ("Wang Fang", "王芳"), ("Li Na", "李娜"), ("Liu Yang", "刘洋"),
          ("Chen Jing", "陈静"), ("Yang Min", "杨敏"), ("Zhao Lei", "赵磊"), ("Huang Li", "黄丽"),
          ("Zhou Ting", "周婷"), ("Wu Hao", "吴昊"), ("Xu Jing", "徐静"), ("Sun Yue", "孙悦"),
          ("Ma Lin", "马林"), ("Hu Min", "胡敏"), ("Guo Qiang", "郭强"), ("Lin Hui", "林辉"),
          ("He Ping", "何平"), ("Gao Xiang", "高翔"), ("Luo Jun", "罗军"), ("Zheng Yu", "郑宇"))
FIRM_EN = ("Xinyuan", "Huaqiang", "Hengda", "Jincheng", "Tianyu", "Shengshi", "Kairui",
           "Haoyun", "Mingtai", "Ruifeng", "Jiahe", "Yongsheng", "Longxiang", "Baichuan")
FIRM_ZH = ("鑫源", "华强", "恒达", "锦程", "天宇", "盛世", "凯瑞", "好运", "明泰", "瑞丰", "嘉禾",
           "永盛", "龙翔", "百川")
FIRM_KIND = (("Trading", "贸易"), ("Technology", "科技"), ("Electronics", "电子"),
             ("Garment", "服饰"), ("Industrial", "实业"))
QUOTES = (
    "We will keep up the pressure on those who export counterfeit goods",
    "Protecting intellectual property is protecting innovation",
    "The ruling sends a clear signal that infringers will pay a heavy price",
    "Rights holders are now far more willing to bring their cases to court",
    "Cross-border e-commerce has become the main channel for fake goods",
    "The amount of damages reflects the value of a well-known trademark",
    "We have strengthened cooperation with rights holders and with the police",
    "Punitive damages are now applied to serious and wilful infringement",
)
QUOTES_ZH = ("将持续加大知识产权保护力度，严厉打击侵权违法行为", "保护知识产权就是保护创新",
             "该判决体现了对恶意侵权行为的严厉惩处", "权利人维权意识明显增强",
             "跨境电商已成为侵权商品流通的重要渠道", "将进一步加强与权利人和公安机关的协作")
ROLES = ("an official with", "deputy director of the legal department of",
         "a spokesperson for", "head of the IP protection division of")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
AP_MONTHS = ("Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.",
             "Nov.", "Dec.")
# What an editor changes in a copy: (from, to), applied to one occurrence.
WORD_EDITS = (("said", "told reporters"), ("seized", "confiscated"), ("counterfeit", "fake"),
              ("according to", "said"), ("has ordered", "ordered"), ("the case", "the lawsuit"),
              ("infringement", "violation"), ("recently", "lately"), ("also", "further"),
              ("goods", "products"), ("company", "firm"), ("officials", "authorities"))
WORD_EDITS_ZH = (("表示", "指出"), ("查获", "查扣"), ("近日", "日前"), ("有关负责人", "负责人"),
                 ("严厉打击", "坚决打击"), ("据介绍", "据了解"), ("侵权", "侵犯知识产权"))
NOTES = ("(Editor: <<editor>>)", "Source: Xinhua", "Editor's note: This story was first "
         "published by Xinhua News Agency.", "-- Global Times", "Xinhua contributed to this "
         "story.", "This article was updated on <<pubdate>> to correct the name of the court.")
BOILERPLATE = (
    "China has stepped up intellectual property protection in recent years, with courts "
    "handling a growing number of cases and punitive damages applied more often.",
    "The country's customs authorities seized more than 60 million suspected infringing "
    "items last year, according to the General Administration of Customs.",
)
BOILERPLATE_ZH = ("近年来，我国知识产权保护力度不断加大，各级法院审理的知识产权案件数量持续增长。",
                  "据海关总署统计，去年全国海关共查扣进出口侵权嫌疑货物数千万件。")

FACT_KINDS = ("number", "place", "date", "party", "case", "patent")


def _sub(text: str, facts: dict[str, str]) -> str:
    return re.sub(r"<<(\w+)>>", lambda m: facts[m.group(1)], text)


def _ap_date(day: datetime) -> str:
    return f"{AP_MONTHS[day.month - 1]} {day.day}"


def _zh_date(day: datetime) -> str:
    return f"{day.month}月{day.day}日"


def _zh_number(n: int) -> str:
    """12000 -> 1.2万, 1200 -> 1200: how Chinese news writes counts."""
    if n >= 10_000 and n % 1_000 == 0:
        return f"{n / 10_000:g}万"
    return str(n)


def _money_en(n: int) -> str:
    """n in units of 10,000 yuan: 350 -> '3.5 million yuan'."""
    return f"{n / 100:g} million yuan"


def _award(rng: random.Random) -> int:
    """Damages or a fine in ten-thousands of yuan, rounded as courts round them."""
    return rng.choice((rng.randint(1, 99) * 10, rng.randint(1, 50) * 100,
                       rng.randint(11, 99) * 5))


def _patent_number(rng: random.Random) -> str:
    year = rng.randint(2012, 2021)
    return f"ZL{year}{rng.choice('123')}{rng.randint(0, 9_999_999):07d}." \
           f"{rng.choice('0123456789X')}"


def _woven(lead: str, facts: list[str], filler: list[str], n_par: int, rng: random.Random,
           joiner: str) -> list[str]:
    """The story's paragraphs: the lead, then the facts in order with the filler woven in
    among them, the filler first joined down to n_par paragraphs in all (words kept)."""
    while len(filler) + len(facts) + 1 > n_par and len(filler) > 1:
        i = rng.randrange(len(filler) - 1)
        filler[i:i + 2] = [filler[i] + joiner + filler[i + 1]]
    rest = list(facts)
    for p in filler:
        rest.insert(rng.randrange(1, len(rest) + 1), p)
    return [lead, *rest]


def _trimmed_and_reworded(paras: list[str], rng: random.Random,
                          word_edits: tuple[tuple[str, str], ...],
                          boundary: str) -> tuple[list[str], list[str]]:
    """The edits every outlet makes in either language: the last paragraphs trimmed, a
    word or two swapped (boundary: r"\\b" around English words, nothing for Chinese)."""
    edits: list[str] = []
    if len(paras) > 4 and rng.random() < 0.35:
        paras, k = _trim(paras, rng.randint(1, min(3, len(paras) - 4)))
        if k:
            edits.append(f"trim{k}")
    if rng.random() < 0.4:
        for _ in range(rng.randint(1, 2)):
            old, new = rng.choice(word_edits)
            spots = [(i, m.start()) for i, p in enumerate(paras)
                     for m in re.finditer(boundary + re.escape(old) + boundary, p)]
            if spots:
                i, at = rng.choice(spots)
                paras[i] = paras[i][:at] + new + paras[i][at + len(old):]
                edits.append(f"word:{old}->{new}")
    return paras, edits


def _trim(paragraphs: list[str], k: int) -> tuple[list[str], int]:
    """The last k paragraphs dropped, fewer if that would drop half the text or more (an
    outlet trims the tail of a story, it does not reprint its first lines)."""
    total = sum(len(p) for p in paragraphs)
    while k and sum(len(p) for p in paragraphs[:-k]) < total / 2:
        k -= 1
    return (paragraphs[:-k] if k else paragraphs), k


@dataclass
class Story:
    """A story's text before the outlets edit it: paragraph templates with <<slots>>, and
    the facts that fill them (the same templates and filler, one fact changed, make a
    near miss)."""

    k: int
    label: str
    language: str
    kind: str  # customs, court, patent, raid
    facts: dict[str, str]
    templates: list[str]
    titles: list[str]  # the wire's headline first, then rewrites
    published: datetime  # the wire's time; copies come later
    kinds: tuple[str, ...]  # the facts a near miss may change
    near_miss_of: str | None = None
    changed: str | None = None

    def paragraphs(self) -> list[str]:
        return [_sub(t, self.facts) for t in self.templates]


@dataclass
class Copy:
    """One outlet's article of a story, with what was done to it."""

    source: str
    url: str
    title: str
    summary: str
    paragraphs: list[str]
    language: str
    published: datetime
    story: str
    near_miss_of: str | None
    changed: str | None
    edits: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def published_at(self) -> str:
        return self.published.isoformat(timespec="seconds")

    def as_dict(self) -> dict:
        return {"source": self.source, "url": self.url, "title": self.title,
                "summary": self.summary, "body": self.body, "language": self.language,
                "published_at": self.published_at, "story": self.story,
                "near_miss_of": self.near_miss_of, "changed": self.changed,
                "edits": list(self.edits)}


class WireCopies:
    """story(k): story k and its near miss, if it has one; articles(n): the first n
    articles in order of publication; more(...): what a later night brings."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.seed = seed
        c = corpus.Corpus(seed)
        self.pool = c.pool
        self.clauses = c.clauses
        self._tail = c._tail_sentence  # names and numbers drawn per article

    # -- stories --
    def _rng(self, k: int, salt: int = 0) -> random.Random:
        return random.Random((self.seed + salt) * 1_000_003 + k)

    def story(self, k: int, published: datetime | None = None) -> list[Story]:
        """Story k, then its near miss when it has one."""
        rng = self._rng(k)
        language = "zh" if rng.random() < ZH_SHARE else "en"
        when = published or START + timedelta(minutes=k * STEP_MINUTES
                                              + rng.randrange(STEP_MINUTES))
        kind = rng.choices(("customs", "court", "patent", "raid"), (0.4, 0.3, 0.15, 0.15))[0]
        make = self._english if language == "en" else self._chinese
        story = make(k, rng, kind, when)
        out = [story]
        if rng.random() < NEAR_MISS_SHARE:
            out.append(self._near_miss(story, rng))
        return out

    def story_by_label(self, label: str) -> Story:
        k = int(label.split("/")[0][1:])
        for s in self.story(k):
            if s.label == label:
                return s
        raise KeyError(label)

    def _common_facts(self, rng: random.Random, when: datetime, zh: bool) -> dict[str, str]:
        event = when - timedelta(days=rng.choice((0, 1, 1, 2, 3)))
        person, person_zh = rng.choice(PEOPLE)
        editor, editor_zh = rng.choice(PEOPLE)
        firm = rng.randrange(len(FIRM_EN))
        fkind = rng.choice(FIRM_KIND)
        dcity = rng.choice(list(CITIES))
        return {
            "event": event.isoformat(), "date": _zh_date(event) if zh else _ap_date(event),
            "pubdate": _zh_date(when) if zh else _ap_date(when),
            "weekday": WEEKDAYS[when.weekday()], "person": person_zh if zh else person,
            "editor": editor_zh if zh else editor,
            "defendant": (f"{CITIES[dcity][0]}{FIRM_ZH[firm]}{fkind[1]}有限公司" if zh else
                          f"{dcity} {FIRM_EN[firm]} {fkind[0]} Co"),
            "role": rng.choice(ROLES), "year": str(rng.randint(2015, event.year)),
            "quote": rng.choice(QUOTES_ZH if zh else QUOTES),
            "quote2": rng.choice(QUOTES_ZH if zh else QUOTES),
            "cases": str(rng.randint(12, 900)), "items": f"{rng.randint(20, 990) * 1000:,}",
            "pct": str(rng.randint(3, 60)),
        }

    def _story_facts(self, rng: random.Random, when: datetime, zh: bool) -> dict[str, str]:
        """The common facts, and the goods, brand and counts of a story in one language
        (the word lists give each name in English, then in Chinese)."""
        f = self._common_facts(rng, when, zh=zh)
        lang = int(zh)
        brand = rng.choice(BRANDS)[lang]
        product_names = rng.choice(PRODUCTS)
        unit, product = product_names[2 * lang:2 * lang + 2]
        dest = rng.choice(DESTINATIONS)[lang]
        decl = rng.choice(DECLARED)[lang]
        f.update(brand=brand, unit=unit, product=product, dest=dest, decl=decl,
                 containers=str(rng.randint(2, 9)), workshops=str(rng.randint(2, 12)),
                 suspects=str(rng.randint(3, 40)))
        if zh:
            f["value"] = str(rng.randint(5, 900))
        return f

    def _number(self, rng: random.Random) -> int:
        return rng.choice((rng.randint(2, 99) * 100, rng.randint(2, 99) * 1000,
                           rng.randint(11, 999) * 10))

    def _filler_en(self, rng: random.Random, words: int) -> list[str]:
        paragraphs, total = [], 0
        while total < words:
            sentences = []
            for _ in range(rng.randint(2, 5)):
                sentences.append(self._tail(rng) if rng.random() < 0.15
                                 else self.pool[rng.randrange(len(self.pool))])
            if rng.random() < 0.25:  # a quote, ending on its speaker's name
                who, _ = rng.choice(PEOPLE)
                sentences.append(f'"{rng.choice(QUOTES)}," said {who}.')
            text = " ".join(sentences)
            paragraphs.append(text)
            total += text.count(" ") + 1
        return paragraphs

    def _filler_zh(self, rng: random.Random, chars: int) -> list[str]:
        paragraphs, total = [], 0
        while total < chars:
            text = "".join("，".join(rng.choice(self.clauses) for _ in range(rng.randint(3, 7)))
                           + "。" for _ in range(rng.randint(1, 3)))
            paragraphs.append(text)
            total += len(text)
        return paragraphs

    def _english(self, k: int, rng: random.Random, kind: str, when: datetime) -> Story:
        f = self._story_facts(rng, when, zh=False)
        n = self._number(rng)
        kinds = ["number", "date", "party"]
        if kind == "customs":
            city = rng.choice(CUSTOMS_CITIES)
            custom = rng.choice(("customs", "Customs"))
            f.update(city=city, dateline=city.upper(), number=f"{n:,}")
            f["authority"] = f"{city} {custom}"
            lead = ("<<authority>> seized <<number>> <<unit>> of counterfeit <<brand>> "
                    "<<product>> bound for <<dest>> on <<date>>, the customs authority said on "
                    "<<weekday>>.")
            facts = [
                "The goods, declared as <<decl>>, were found in <<containers>> containers "
                "during an inspection, according to <<person>>, <<role>> <<authority>>.",
                "<<brand>> confirmed that the <<product>> infringed its registered trademark, "
                "and the case has been handed over to the police for further investigation.",
                '"<<quote>>," <<person>> said.',
                "So far this year, <<authority>> has handled <<cases>> IP infringement cases "
                "involving <<items>> items, up <<pct>> percent year-on-year.",
            ]
            titles = ["<<authority>> seizes <<number>> <<unit>> of fake <<brand>> <<product>>",
                      "Counterfeit <<brand>> <<product>> seized in <<city>>",
                      "Customs officers in <<city>> find fake <<brand>> goods bound for "
                      "<<dest>>",
                      "<<number>> fake <<brand>> <<product>> stopped at the border"]
            kinds.append("place")
        elif kind == "raid":
            city = rng.choice(RAID_CITIES)
            f.update(city=city, dateline=city.upper(), number=f"{n:,}")
            f["authority"] = f"police in {city}"
            lead = ("Police in <<city>> raided <<workshops>> workshops and seized <<number>> "
                    "<<unit>> of fake <<brand>> <<product>> on <<date>>, the city's public "
                    "security bureau said on <<weekday>>.")
            facts = [
                "<<suspects>> suspects were detained in the operation, which followed a tip-off "
                "from <<brand>>, according to <<person>>, <<role>> the bureau.",
                "The workshops had sold the <<product>> through online stores and to buyers "
                "in <<dest>> since <<year>>, police said.",
                '"<<quote>>," <<person>> said.',
            ]
            titles = ["Police in <<city>> seize <<number>> <<unit>> of fake <<brand>> "
                      "<<product>>",
                      "<<city>> raid finds counterfeit <<brand>> workshops",
                      "Fake <<brand>> <<product>> workshops busted in <<city>>"]
            kinds.append("place")
        else:
            money = _award(rng)
            f["number"] = _money_en(money)
            supreme = kind == "court" and rng.random() < 0.3
            if supreme:
                court, city = "the Supreme People's Court", "Beijing"
                case = (f"({int(f['year']) + 1}) Zui Gao Fa Zhi Min Zhong No. "
                        f"{rng.randint(100, 2999)}")
            else:
                city = rng.choice(list(CITIES))
                court = (f"the {city} Intellectual Property Court" if city in IP_COURTS else
                         f"the {city} Intermediate People's Court")
                case = (f"({f['year']}) {CITIES[city][2]} Min Chu No. "
                        f"{rng.randint(100, 9999)}")
                kinds.append("place")
            f.update(court=court, city=city, dateline="BEIJING" if supreme else city.upper(),
                     case=case)
            f["authority"] = court
            court_cap = court[0].upper() + court[1:]
            f["Court"] = court_cap
            if kind == "court":
                lead = ("<<Court>> has ordered <<defendant>> to pay <<brand>> <<number>> in "
                        "damages for trademark infringement, in a ruling made public on "
                        "<<date>>.")
                facts = [
                    "The court found that <<defendant>> had sold <<product>> bearing logos "
                    "identical to the <<brand>> trademark through online stores since "
                    "<<year>>, and that the infringement was wilful.",
                    "The judgment, numbered <<case>>, also ordered the company to stop the "
                    "infringement and destroy its stock.",
                    '"<<quote>>," said <<person>>, a lawyer who represented <<brand>>.',
                ]
                titles = ["<<brand>> wins <<number>> in trademark case against <<defendant>>",
                          "Court orders <<defendant>> to pay <<brand>> <<number>>",
                          "Heavy damages for <<brand>> in trademark ruling",
                          "<<brand>> trademark infringer fined <<number>>"]
                kinds.append("case")
            else:
                f["patent"] = _patent_number(rng)
                lead = ("<<brand>> has won a patent infringement lawsuit against <<defendant>>, "
                        "with <<court>> awarding it <<number>> in damages on <<date>>.")
                facts = [
                    "The dispute concerned <<brand>>'s invention patent <<patent>>, which "
                    "covers a component of its <<product>>, the court said.",
                    "The judgment, numbered <<case>>, found that the infringing <<product>> "
                    "had been sold in <<dest>> as well as in China.",
                    '"<<quote>>," said <<person>>, a judge of the court.',
                ]
                titles = ["<<brand>> wins patent lawsuit against <<defendant>>",
                          "<<Court>> awards <<brand>> <<number>> in patent case",
                          "Patent win for <<brand>> in <<city>>"]
                kinds += ["patent", "case"]
        if rng.random() < 0.3:
            facts.insert(rng.randrange(len(facts) + 1), rng.choice(BOILERPLATE))
        words = sum(p.count(" ") + 1 for p in (lead, *facts))
        target = rng.randint(300, 900)
        n_par = rng.randint(6, 12)
        filler = self._filler_en(rng, max(0, target - words - 40))
        body = _woven(lead, facts, filler, n_par, rng, " ")
        return Story(k, f"s{k}", "en", kind, f, body, titles, when, tuple(kinds))

    def _chinese(self, k: int, rng: random.Random, kind: str, when: datetime) -> Story:
        f = self._story_facts(rng, when, zh=True)
        n = self._number(rng)
        kinds = ["number", "date", "party"]
        if kind == "customs":
            city = rng.choice(CUSTOMS_CITIES)
            f.update(city=CITIES[city][0], number=_zh_number(n),
                     authority=f"{CITIES[city][0]}海关")
            lead = ("<<date>>，记者从<<authority>>获悉，<<authority>>近日在对一批出口货物查验时，"
                    "发现侵犯“<<brand>>”商标专用权的<<product>><<number>><<unit>>，货值约<<value>>"
                    "万元。")
            facts = [
                "据介绍，该批货物申报为<<decl>>，共<<containers>>个集装箱，拟出口至<<dest>>。经"
                "权利人确认，上述货物均为侵权商品，<<authority>>已依法予以扣留。",
                "今年以来，<<authority>>共查办侵权案件<<cases>>起，查获侵权货物<<items>>件，同比"
                "增长<<pct>>%。",
                "<<authority>>有关负责人<<person>>表示，<<quote>>。",
            ]
            titles = ["<<authority>>查获侵权<<product>><<number>><<unit>>",
                      "<<authority>>查获一批假冒“<<brand>>”<<product>>",
                      "出口货物中藏匿侵权<<product>> <<authority>>依法扣留"]
            kinds.append("place")
        elif kind == "raid":
            city = rng.choice(RAID_CITIES)
            f.update(city=RAID_ZH[city], number=_zh_number(n),
                     authority=f"{RAID_ZH[city]}市公安局")
            lead = ("<<date>>，<<authority>>通报，警方近日捣毁制售假冒“<<brand>>”<<product>>窝点"
                    "<<workshops>>处，查获假冒<<product>><<number>><<unit>>，抓获犯罪嫌疑人"
                    "<<suspects>>名。")
            facts = [
                "据介绍，该团伙自<<year>>年起通过网店向<<dest>>等地销售假冒<<product>>，案件线索来"
                "自权利人举报。",
                "<<authority>>有关负责人<<person>>表示，<<quote>>。",
            ]
            titles = ["<<authority>>捣毁制售假冒<<brand>><<product>>窝点",
                      "<<city>>警方查获假冒<<product>><<number>><<unit>>"]
            kinds.append("place")
        else:
            money = _award(rng)
            f["number"] = str(money)
            supreme = kind == "court" and rng.random() < 0.3
            if supreme:
                court, city = "最高人民法院", "北京"
                case = f"（{int(f['year']) + 1}）最高法知民终{rng.randint(100, 2999)}号"
            else:
                en = rng.choice(list(CITIES))
                city = CITIES[en][0]
                court = (f"{city}知识产权法院" if en in IP_COURTS else f"{city}市中级人民法院")
                case = f"（{f['year']}）{CITIES[en][1]}民初{rng.randint(100, 9999)}号"
                kinds.append("place")
            f.update(court=court, city=city, case=case, authority=court)
            if kind == "court":
                lead = ("<<date>>，<<court>>对<<brand>>公司诉<<defendant>>侵害商标权纠纷一案作出"
                        "判决，判令被告停止侵权，并赔偿经济损失及合理开支共计<<number>>万元。")
                facts = [
                    "法院经审理查明，被告自<<year>>年起通过网店销售带有与“<<brand>>”商标相同标识"
                    "的<<product>>，侵权故意明显。",
                    "该案案号为<<case>>。",
                    "<<person>>法官表示，<<quote>>。",
                ]
                titles = ["<<brand>>商标侵权案宣判 被告赔偿<<number>>万元",
                          "<<court>>判决<<defendant>>赔偿<<brand>><<number>>万元"]
                kinds.append("case")
            else:
                f["patent"] = _patent_number(rng)
                lead = ("<<date>>，<<court>>对<<brand>>公司诉<<defendant>>侵害发明专利权纠纷一案"
                        "作出判决，判令被告赔偿<<number>>万元。")
                facts = [
                    "涉案专利为<<brand>>公司的发明专利，专利号为<<patent>>，涉及<<product>>的核心"
                    "部件。",
                    "该案案号为<<case>>。法院认定，被诉侵权<<product>>落入涉案专利权利要求的保护"
                    "范围。",
                    "<<person>>法官表示，<<quote>>。",
                ]
                titles = ["<<brand>>专利侵权案胜诉 获赔<<number>>万元",
                          "<<court>>审结一起发明专利侵权案"]
                kinds += ["patent", "case"]
        if rng.random() < 0.3:
            facts.insert(rng.randrange(len(facts) + 1), rng.choice(BOILERPLATE_ZH))
        chars = sum(len(p) for p in (lead, *facts))
        target = rng.randint(400, 1500)
        filler = self._filler_zh(rng, max(0, target - chars - 60))
        n_par = rng.randint(6, 12)
        body = _woven(lead, facts, filler, n_par, rng, "")
        f["dateline"] = f["city"] if kind != "raid" else "北京"
        return Story(k, f"s{k}", "zh", kind, f, body, titles, when, tuple(kinds))

    def _near_miss(self, story: Story, rng: random.Random) -> Story:
        """The same text, one fact changed."""
        kind = rng.choice(story.kinds)
        f = dict(story.facts)
        zh = story.language == "zh"
        # Published the same day (the text's dates and weekday stay), a week later for a
        # change of date: the one fact is the only difference.
        when = story.published + timedelta(minutes=rng.randint(20, 8 * 60))
        if kind == "number":
            f["number"] = self._other_number(f["number"], zh, story.kind)
        elif kind == "place":
            if story.kind == "customs":
                options = [c for c in CUSTOMS_CITIES if CITIES[c][0] != f["city"]
                           and c.upper() != f.get("dateline")]
                city = rng.choice(options)
                if zh:
                    f.update(city=CITIES[city][0], authority=f"{CITIES[city][0]}海关",
                             dateline=CITIES[city][0])
                else:
                    custom = f["authority"].split()[-1]
                    f.update(city=city, authority=f"{city} {custom}", dateline=city.upper())
            elif story.kind == "raid":
                options = [c for c in RAID_CITIES if c != f["city"] and RAID_ZH[c] != f["city"]]
                city = rng.choice(options)
                if zh:
                    f.update(city=RAID_ZH[city], authority=f"{RAID_ZH[city]}市公安局")
                else:
                    f.update(city=city, authority=f"police in {city}", dateline=city.upper())
            else:
                old = f["city"]
                options = [c for c in CITIES if c != old and CITIES[c][0] != old]
                city = rng.choice(options)
                if zh:
                    zc = CITIES[city][0]
                    court = f"{zc}知识产权法院" if city in IP_COURTS else f"{zc}市中级人民法院"
                    f.update(city=zc, court=court, authority=court, dateline=zc)
                else:
                    court = (f"the {city} Intellectual Property Court" if city in IP_COURTS
                             else f"the {city} Intermediate People's Court")
                    f.update(city=city, court=court, authority=court, dateline=city.upper(),
                             Court=court[0].upper() + court[1:])
        elif kind == "date":
            event = datetime.fromisoformat(f["event"]) + timedelta(days=7)
            when = story.published + timedelta(days=7)
            f.update(event=event.isoformat(), date=_zh_date(event) if zh else _ap_date(event),
                     pubdate=_zh_date(when) if zh else _ap_date(when))
        elif kind == "party":
            brands = [b[1] if zh else b[0] for b in BRANDS]
            f["brand"] = rng.choice([b for b in brands if b != f["brand"]])
        elif kind == "case":
            m = re.search(r"(\d+)(号)?$", f["case"])
            assert m, f["case"]
            serial = int(m.group(1))
            other = serial + rng.randint(1, 40)
            f["case"] = f["case"][:m.start(1)] + str(other) + (m.group(2) or "")
        else:  # patent: another serial, another check digit
            serial = f["patent"][7:14]
            other = f"{(int(serial) + rng.randint(1, 99_999)) % 10_000_000:07d}"
            f["patent"] = (f["patent"][:7] + other + "." + rng.choice(
                [d for d in "0123456789X" if d != f["patent"][-1]]))
        return replace(story, label=f"{story.label}/{kind}", facts=f, published=when,
                       near_miss_of=story.label, changed=kind)

    @staticmethod
    def _other_number(value: str, zh: bool, kind: str) -> str:
        """1,200 -> 12,000; 1.2万 -> 12万; 3.5 million yuan -> 35 million yuan."""
        if kind in ("court", "patent"):
            if zh:
                return str(int(value) * 10)
            amount = float(value.split()[0])
            return f"{amount * 10:g} million yuan"
        if zh:
            if value.endswith("万"):
                return f"{float(value[:-1]) * 10:g}万"
            return _zh_number(int(value) * 10)
        return f"{int(value.replace(',', '')) * 10:,}"

    # -- copies --
    def copies(self, story: Story, rng: random.Random, count: int | None = None,
               outlets: list[str] | None = None, tag: str = "") -> list[Copy]:
        """The story as count outlets printed it (the first is the wire's own when the wire
        is among them)."""
        if count is None:
            count = rng.choices([c for c, _ in COPY_WEIGHTS], [w for _, w in COPY_WEIGHTS])[0]
        pool = OUTLETS if story.language == "en" else OUTLETS_ZH
        chosen = outlets or rng.sample(pool, min(count, len(pool)))
        out = []
        for i, outlet in enumerate(chosen):
            delay = 0 if i == 0 and not tag else rng.randint(10, 36 * 60)
            when = story.published + timedelta(minutes=delay)
            make = self._copy_en if story.language == "en" else self._copy_zh
            out.append(make(story, outlet, rng, when, f"{tag}{i}"))
        return out

    def _url(self, outlet: str, story: Story, when: datetime, tag: str, zh: bool) -> str:
        h = hashlib.blake2b(f"{self.seed}/{story.label}/{outlet}/{tag}".encode(),
                            digest_size=16).hexdigest()
        num = int(h[:12], 16)
        if outlet == "xinhua":
            host = "www.news.cn/legal" if zh else "english.news.cn"
            return f"https://{host}/{when:%Y%m%d}/{h}/c.html"
        if outlet == "shine":
            return f"https://www.shine.cn/news/nation/{when:%y%m%d}{num % 10**10:010d}/"
        if outlet == "chinadaily":
            host = "cn.chinadaily.com.cn" if zh else "www.chinadaily.com.cn"
            return f"https://{host}/a/{when:%Y%m}/{when:%d}/WS{h[:24]}.html"
        if outlet == "globaltimes":
            host = "world.huanqiu.com/article" if zh else "www.globaltimes.cn/page"
            return f"https://{host}/{when:%Y%m}/{num % 10**10:010d}.shtml"
        host = "ip.people.com.cn" if zh else "en.people.cn"
        return f"http://{host}/n1/{when:%Y/%m%d}/c{num % 10**6}-{num % 10**8:08d}.html"

    def _copy_en(self, story: Story, outlet: str, rng: random.Random, when: datetime,
                 tag: str) -> Copy:
        f = story.facts
        paras, edits = _trimmed_and_reworded(story.paragraphs(), rng, WORD_EDITS, r"\b")
        if rng.random() < 0.5 and any("U.S." in p or "U.K." in p for p in paras):
            paras = [p.replace("U.S.", "US").replace("U.K.", "UK") for p in paras]
            edits.append("US")
        if rng.random() < 0.4 and any('"' in p for p in paras):
            paras = [re.sub(r'"([^"]*)"', "\u201c\\1\u201d", p) for p in paras]
            edits.append("curly")
        if rng.random() < 0.2:
            i = rng.randrange(len(paras))
            cut = [m.end() for m in re.finditer(r"\. (?=[A-Z\"])", paras[i])]
            if cut:
                at = rng.choice(cut)
                paras[i:i + 1] = [paras[i][:at].rstrip(), paras[i][at:]]
                edits.append("split")
        if rng.random() < 0.2 and len(paras) > 2:
            i = rng.randrange(1, len(paras) - 1)
            paras[i:i + 2] = [paras[i] + " " + paras[i + 1]]
            edits.append("merge")
        # The dateline: the wire writes one; an outlet keeps it, shortens it or drops it.
        full = f"{f['dateline']}, {f['pubdate']} (Xinhua) -- "
        if outlet == "xinhua":
            dateline = full if rng.random() < 0.85 else ""
        else:
            dateline = rng.choices(
                (full, f"{f['dateline']} -- ", f"BEIJING, {f['pubdate']} (Xinhua) -- ", ""),
                (0.3, 0.2, 0.05, 0.45))[0]
        if dateline:
            paras[0] = dateline + paras[0]
            edits.append("dateline:" + ("xinhua" if "(Xinhua)" in dateline else "short"))
        if rng.random() < 0.25 or (outlet == "shine" and rng.random() < 0.3):
            paras.append(_sub(rng.choice(NOTES), f))
            edits.append("note")
        titles = story.titles
        title = titles[0] if outlet == "xinhua" or rng.random() < 0.4 else rng.choice(titles[1:])
        if title != titles[0]:
            edits.append("headline")
        title = _sub(title, f)
        if outlet in ("shine", "globaltimes") and "U.S." in title and rng.random() < 0.5:
            title = title.replace("U.S.", "US")
        lead = _sub(story.templates[0], f)
        summary = lead.split(", ")[0] + "." if outlet == "globaltimes" else lead
        return Copy(outlet, self._url(outlet, story, when, tag, zh=False), title, summary,
                    paras, "en", when, story.label, story.near_miss_of, story.changed, edits)

    def _copy_zh(self, story: Story, outlet: str, rng: random.Random, when: datetime,
                 tag: str) -> Copy:
        f = story.facts
        paras, edits = _trimmed_and_reworded(story.paragraphs(), rng, WORD_EDITS_ZH, "")
        if rng.random() < 0.2:
            i = rng.randrange(len(paras))
            cut = [m.end() for m in re.finditer("。(?=.)", paras[i])]
            if cut:
                at = rng.choice(cut)
                paras[i:i + 1] = [paras[i][:at], paras[i][at:]]
                edits.append("split")
        if rng.random() < 0.2 and len(paras) > 2:
            i = rng.randrange(1, len(paras) - 1)
            paras[i:i + 2] = [paras[i] + paras[i + 1]]
            edits.append("merge")
        full = f"新华社{f['dateline']}{f['pubdate']}电（记者{f['person']}）"
        if outlet == "xinhua":
            prefix = full if rng.random() < 0.85 else ""
        else:
            prefix = rng.choices((full, f"新华社{f['dateline']}{f['pubdate']}电 ", "据新华社电 ",
                                  ""), (0.25, 0.2, 0.2, 0.35))[0]
        if prefix:
            paras[0] = prefix + paras[0]
            edits.append("prefix")
        if outlet != "xinhua" and rng.random() < 0.6:
            paras.append(rng.choice(("（责任编辑：<<editor>>）", "责任编辑：<<editor>>",
                                     "来源：新华社", "（来源：新华网）")).replace(
                "<<editor>>", f["editor"]))
            edits.append("note")
        titles = story.titles
        title = titles[0] if outlet == "xinhua" or rng.random() < 0.4 else rng.choice(titles[1:])
        if title != titles[0]:
            edits.append("headline")
        title = _sub(title, f)
        lead = _sub(story.templates[0], f)
        summary = "" if outlet == "people-ip" else lead
        return Copy(outlet, self._url(outlet, story, when, tag, zh=True), title, summary,
                    paras, "zh", when, story.label, story.near_miss_of, story.changed, edits)

    # -- the stream --
    def articles(self, n: int) -> Iterator[dict]:
        """The first n articles, in order of publication."""
        heap: list[tuple[datetime, int, Copy]] = []
        emitted = seq = k = 0
        while emitted < n:
            stories = self.story(k)
            # Every later article is published after this story's wire time.
            while heap and heap[0][0] < stories[0].published and emitted < n:
                yield heapq.heappop(heap)[2].as_dict()
                emitted += 1
            for s in stories:
                for c in self.copies(s, self._rng(k, salt=1 + s.label.count("/"))):
                    heapq.heappush(heap, (c.published, seq, c))
                    seq += 1
            k += 1

    def more(self, count: int, stored: list[str], after: datetime, offset: int = 1
             ) -> list[dict]:
        """What a later night brings, published after `after`: half new stories (with their
        copies, and their near misses), half new copies of the stored stories named in
        `stored` (labels). Another seed offset, another night."""
        rng = random.Random((self.seed + 1000 * offset) * 7_919)
        out: list[Copy] = []
        i = 0
        while len(out) < count:
            when = after + timedelta(minutes=10 * (len(out) + 1))
            if rng.random() < 0.5:
                k = NEW_STORY_BASE * offset + i
                i += 1
                for s in self.story(k, published=when):
                    out += self.copies(s, self._rng(k, salt=1 + s.label.count("/")))
            else:
                story = self.story_by_label(rng.choice(stored))
                late = replace(story, published=when)
                out += self.copies(late, random.Random(rng.randrange(2**32)), count=1,
                                   tag=f"late{offset}-{len(out)}-")
        out = out[:count]
        out.sort(key=lambda c: c.published)
        return [c.as_dict() for c in out]
