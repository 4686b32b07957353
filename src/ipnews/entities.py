"""Identifiers and parties in IP news: court case numbers, patent numbers, trademark
registration numbers, and the authorities (offices, customs, courts) a story names, in
English and Chinese text alike, mixed or not.

Each one found is an Entity whose key does not depend on the language it was written in, so
a story citing （2023）最高法知民终123号 and one citing "(2023) Zui Gao Fa Zhi Min Zhong
No. 123" meet on the same key:

- case: ``year|code|number``, e.g. ``2023|zuigaofazhiminzhong|123``. The code is the court
  code and the case-type code in tone-less pinyin, court digits kept (``京73民初`` and
  "Jing 73 Min Chu" are both ``jing73minchu``). Chinese is spelt from _PINYIN, the
  characters these codes are made of; an English rendering is lower-cased with its spaces
  dropped, and taken only if it spells a court code and type codes from that same table.
  Old numbers' 字/Zi (（2015）京知民初字第1234号) is left out of the key.
- patent: CN application numbers ``CN`` + 12 digits (8 before 2003) + ``.`` + check digit,
  whatever prefix (ZL, CN, none) and spacing the text used; CN publication numbers ``CN`` +
  digits + kind code (``CN123456789A``); also ``US10123456``, ``US20200123456``,
  ``EP1234567``, ``WO2020123456`` and ``PCT/CN2020/123456``.
- trademark: the registration number's digits, only next to trademark/registration words.
- authority: a slug from AUTHORITIES (``cnipa``, ``customs-shanghai``, ``court-spc``).

Pure and bounded: stdlib regexes with bounded repetition only, over at most MAX_CHARS of
each text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import NamedTuple

from ipnews.article import LazyPattern

KINDS = ("case", "patent", "trademark", "authority")

# Characters of one text read. A story is a few thousand; the extractor keeps bodies of up
# to megabytes, and a hostile page can be that much of near-matches. The work is linear in
# what is read, so this bounds it (a few milliseconds) whatever the page.
MAX_CHARS = 200_000
# Distinct entities kept from one story: real ones name a few dozen at most (a list of
# decisions, a hundred); a page of generated numbers must not become a million rows.
MAX_ENTITIES = 500


@dataclass(frozen=True)
class Entity:
    kind: str  # one of KINDS
    key: str  # normalized, language-independent: equal for the Chinese and English forms
    label: str  # how to show it to a person
    surface: str  # the text as it appeared in the story (first occurrence)


# --- the authorities ----------------------------------------------------------------------

# key -> (English name, Chinese name, other names in either language); the label is
# "English name (Chinese name)". English names match whole words, their first letter a
# capital as they are written (see _names) and the rest in any case, except acronyms, in
# capitals only: "spc" and "Samr" are not the court and the regulator. Chinese names match
# as substrings.
# Where names overlap the longest wins: 最高人民法院知识产权法庭 is the IP Tribunal only,
# not the Supreme People's Court as well. The tribunal's rulings are the court's, but one
# name is one entity, and a search for the tribunal then finds exactly its stories.
AUTHORITIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "cnipa": ("CNIPA", "国家知识产权局", (
        "China National Intellectual Property Administration",
        "National Intellectual Property Administration", "State Intellectual Property Office",
        "SIPO", "国知局", "国家知识产权局")),
    "ctmo": ("China Trademark Office", "国家知识产权局商标局", (
        "Trademark Office of CNIPA", "CNIPA Trademark Office", "Trademark Office of the CNIPA",
        "Trademark Office", "CTMO", "商标局", "国家工商行政管理总局商标局")),
    "cnipa-reexamination": ("CNIPA Patent Reexamination and Invalidation Department",
                            "国家知识产权局专利局复审和无效审理部", (
        "Patent Reexamination Board", "Patent Re-examination Board", "PRB",
        "Reexamination and Invalidation Department", "专利复审委员会", "专利复审委",
        "复审和无效审理部")),
    "trab": ("Trademark Review and Adjudication Board", "商标评审委员会", (
        "TRAB", "商评委")),
    "samr": ("SAMR", "国家市场监督管理总局", (
        "State Administration for Market Regulation",
        "State Administration of Market Regulation", "市场监管总局", "国家市场监管总局")),
    "saic": ("State Administration for Industry and Commerce", "国家工商行政管理总局", (
        # not "SAIC": in business news that is SAIC Motor, the carmaker
        "国家工商总局",)),
    "gacc": ("General Administration of Customs", "海关总署", (
        "GACC", "General Administration of China Customs", "China Customs")),
    "ncac": ("National Copyright Administration", "国家版权局", (
        "National Copyright Administration of China", "NCAC")),
    "mps": ("Ministry of Public Security", "公安部", ()),
    "court-spc": ("Supreme People's Court", "最高人民法院", ("SPC", "最高法")),
    "court-spc-ip": ("IP Tribunal of the Supreme People's Court", "最高人民法院知识产权法庭", (
        "Intellectual Property Tribunal of the Supreme People's Court",
        "Intellectual Property Court of the Supreme People's Court",
        "IP Court of the Supreme People's Court", "IP Tribunal of the SPC",
        "Supreme People's Court IP Tribunal", "Supreme People's Court's IP Tribunal",
        "Supreme People's Court Intellectual Property Tribunal",
        "Supreme People's Court's Intellectual Property Tribunal",
        "SPC IP Tribunal", "SPC's IP Tribunal", "SPC Intellectual Property Tribunal",
        "最高法知识产权法庭", "最高法知产法庭")),
    "court-beijing-ip": ("Beijing IP Court", "北京知识产权法院", (
        "Beijing Intellectual Property Court", "北京知产法院")),
    "court-shanghai-ip": ("Shanghai IP Court", "上海知识产权法院", (
        "Shanghai Intellectual Property Court", "上海知产法院")),
    "court-guangzhou-ip": ("Guangzhou IP Court", "广州知识产权法院", (
        "Guangzhou Intellectual Property Court", "广州知产法院")),
    "court-hainan-ip": ("Hainan Free Trade Port IP Court", "海南自由贸易港知识产权法院", (
        "Hainan Free Trade Port Intellectual Property Court", "海南自贸港知识产权法院")),
    "court-beijing-high": ("Beijing High People's Court", "北京市高级人民法院", (
        "Beijing Higher People's Court", "Beijing High Court", "北京高院", "北京市高院")),
    "court-shanghai-high": ("Shanghai High People's Court", "上海市高级人民法院", (
        "Shanghai Higher People's Court", "Shanghai High Court", "上海高院", "上海市高院")),
    "court-guangdong-high": ("Guangdong High People's Court", "广东省高级人民法院", (
        "Guangdong Higher People's Court", "Guangdong High Court", "广东高院", "广东省高院")),
    "court-jiangsu-high": ("Jiangsu High People's Court", "江苏省高级人民法院", (
        "Jiangsu Higher People's Court", "Jiangsu High Court", "江苏高院", "江苏省高院")),
    "court-zhejiang-high": ("Zhejiang High People's Court", "浙江省高级人民法院", (
        "Zhejiang Higher People's Court", "Zhejiang High Court", "浙江高院", "浙江省高院")),
    "court-shenzhen-intermediate": ("Shenzhen Intermediate People's Court", "深圳市中级人民法院", (
        "Shenzhen Intermediate Court", "深圳中院", "深圳市中院")),
    "court-hangzhou-internet": ("Hangzhou Internet Court", "杭州互联网法院", ()),
    "court-beijing-internet": ("Beijing Internet Court", "北京互联网法院", ()),
    "court-guangzhou-internet": ("Guangzhou Internet Court", "广州互联网法院", ()),
    "wipo": ("World Intellectual Property Organization", "世界知识产权组织", (
        "WIPO", "World Intellectual Property Organisation")),
    # Named in China stories often enough, and "Patent and Trademark Office" must not be
    # read as China's Trademark Office.
    "uspto": ("United States Patent and Trademark Office", "美国专利商标局", (
        "USPTO", "US Patent and Trademark Office", "U.S. Patent and Trademark Office",
        "Patent and Trademark Office")),
    "euipo": ("European Union Intellectual Property Office", "欧盟知识产权局", ("EUIPO",)),
}

# The customs districts that IP stories name: "Shanghai Customs", 上海海关. 海关 alone is
# customs in general, never one of these.
_CUSTOMS_DISTRICTS = (
    ("beijing", "Beijing", "北京"), ("tianjin", "Tianjin", "天津"),
    ("shanghai", "Shanghai", "上海"), ("shenzhen", "Shenzhen", "深圳"),
    ("guangzhou", "Guangzhou", "广州"), ("huangpu", "Huangpu", "黄埔"),
    ("gongbei", "Gongbei", "拱北"), ("shantou", "Shantou", "汕头"),
    ("jiangmen", "Jiangmen", "江门"), ("zhanjiang", "Zhanjiang", "湛江"),
    ("qingdao", "Qingdao", "青岛"), ("ningbo", "Ningbo", "宁波"),
    ("xiamen", "Xiamen", "厦门"), ("fuzhou", "Fuzhou", "福州"),
    ("hangzhou", "Hangzhou", "杭州"), ("nanjing", "Nanjing", "南京"),
    ("dalian", "Dalian", "大连"), ("shenyang", "Shenyang", "沈阳"),
    ("chongqing", "Chongqing", "重庆"), ("chengdu", "Chengdu", "成都"),
    ("wuhan", "Wuhan", "武汉"), ("zhengzhou", "Zhengzhou", "郑州"),
    ("jinan", "Jinan", "济南"), ("hefei", "Hefei", "合肥"),
    ("changsha", "Changsha", "长沙"), ("nanning", "Nanning", "南宁"),
    ("kunming", "Kunming", "昆明"), ("haikou", "Haikou", "海口"),
    ("xian", "Xi'an", "西安"), ("urumqi", "Urumqi", "乌鲁木齐"),
    ("harbin", "Harbin", "哈尔滨"), ("manzhouli", "Manzhouli", "满洲里"),
)
AUTHORITIES.update({
    f"customs-{slug}": (f"{en} Customs", f"{zh}海关", ())
    for slug, en, zh in _CUSTOMS_DISTRICTS})

# Chinese names that begin other words, and the characters (a regex class) that make those:
# 最高法院 is any country's supreme court (美国最高法院); 公安部门, 公安部署, 公安部队 are
# the police at large doing something.
_NOT_BEFORE = {"最高法": "院", "公安部": "[门署队]"}


# --- case numbers ---------------------------------------------------------------------------

# The characters of court codes (province abbreviations, 最高法, 兵 for the Production and
# Construction Corps, 军 for military courts) and case-type codes (民初, 知民终, 执恢...),
# tone-less, as English renderings spell them. Some collide: 刑 and 行 are both "xing"
# (criminal and administrative), 渝/豫 "yu", 冀/吉 "ji", 津/晋 "jin", 甘/赣 "gan", 桂/贵
# "gui", 知/执 "zhi". English copy cannot tell them apart either, and the key keeps the
# year, court digits and number, so two real cases rarely meet.
_PINYIN = {
    "京": "jing", "津": "jin", "沪": "hu", "渝": "yu", "冀": "ji", "豫": "yu", "云": "yun",
    "辽": "liao", "黑": "hei", "湘": "xiang", "皖": "wan", "鲁": "lu", "新": "xin",
    "苏": "su", "浙": "zhe", "赣": "gan", "鄂": "e", "桂": "gui", "甘": "gan", "晋": "jin",
    "蒙": "meng", "陕": "shan", "吉": "ji", "闽": "min", "贵": "gui", "粤": "yue",
    "青": "qing", "藏": "zang", "川": "chuan", "宁": "ning", "琼": "qiong", "兵": "bing",
    "军": "jun",
    "最": "zui", "高": "gao",
    "知": "zhi", "民": "min", "刑": "xing", "行": "xing", "终": "zhong", "初": "chu",
    "再": "zai", "申": "shen", "辖": "xia", "赔": "pei", "执": "zhi", "监": "jian",
    "抗": "kang", "核": "he", "异": "yi", "恢": "hui", "复": "fu", "协": "xie", "他": "ta",
    "保": "bao", "特": "te", "催": "cui", "撤": "che", "请": "qing", "委": "wei",
    "救": "jiu", "惩": "cheng", "认": "ren", "港": "gang", "澳": "ao", "台": "tai",
    "外": "wai", "清": "qing", "强": "qiang", "破": "po", "司": "si", "财": "cai",
    "证": "zheng", "更": "geng", "医": "yi", "法": "fa", "前": "qian", "诉": "su",
}
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼兵军"
_TYPES = "知民刑行赔执监抗核异恢复协他保特催撤请委救惩认港澳台外清强破司财证更医法前诉终初再申辖"
_SPC_CODE = "最高法"

_OPEN = "[(（〔\\[［【﹝]"
_CLOSE = "[)）〕\\]］】﹞]"
_SP = "[ \t\u00a0\u3000]"  # a space as typeset, never a line break
_NO = "(?:No|NO|no)"


def _alternation(words: set[str] | list[str]) -> str:
    # Longest first: Python takes the first alternative that matches, not the longest.
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


# A case number in Chinese, （2023）最高法知民终123号, or in an English rendering, "(2023) Zui
# Gao Fa Zhi Min Zhong No. 123", "(2022) Jing 73 Min Chu 1234", "(2023)Zuigaofa
# Zhiminzhong No.123". One pattern for both: they share the bracketed year, and the engine
# skips to the next bracket in C. In the English code, letter and digit runs are each taken
# whole (the lookaheads), so the only choice left to backtrack over is how many runs the
# code has, at most 12, not the ways of cutting the letters. "No" is never a syllable.
# English copy may break its line inside the code; Chinese never does.
_CASE = LazyPattern(
    rf"{_OPEN}{_SP}{{0,2}}(?P<year>(?:19|20)[0-9]{{2}}){_SP}{{0,2}}{_CLOSE}{_SP}{{0,2}}(?:"
    rf"(?P<court>{_SPC_CODE}|[{_PROVINCES}][0-9]{{0,4}}){_SP}{{0,2}}"
    rf"(?P<type>[{_TYPES}]{{1,6}})(?P<zi>字)?第?{_SP}{{0,2}}"
    rf"(?P<num>[0-9]{{1,6}}){_SP}{{0,2}}号(?:之[一二三四五六七八九十]{{1,3}})?"
    rf"|(?P<code>(?!{_NO}(?![A-Za-z]))[A-Za-z]{{1,30}}(?![A-Za-z])"
    rf"(?:[-\s]{{0,2}}(?:(?!{_NO}(?![A-Za-z]))[A-Za-z]{{1,30}}(?![A-Za-z])"
    rf"|[0-9]{{1,4}}(?![0-9]))){{0,11}})"
    rf"\s{{0,2}}(?:{_NO}\.?|Number|number|#)?\s{{0,2}}"
    rf"(?P<en>[0-9]{{1,6}})(?![0-9]))")


def _syllables(chars: str) -> set[str]:
    return {_PINYIN[c] for c in chars}


# What an English code must spell: a court (最高法, or a province and its court digits) then
# one to six case-type syllables.
_CODE = LazyPattern(
    rf"(?:zuigaofa|(?:{_alternation(_syllables(_PROVINCES))})[0-9]{{0,4}})"
    rf"(?:{_alternation(_syllables(_TYPES))}){{1,6}}")
_SYLLABLE = LazyPattern(
    rf"{_alternation(_syllables(_PROVINCES + _TYPES + '最高'))}|[0-9]+")
_CASE_KEY = LazyPattern(r"((?:19|20)[0-9]{2})\|([a-z0-9]{1,80})\|([0-9]{1,6})")


def _case(m: re.Match[str]) -> tuple[str, str, bool] | None:
    """(key, label, whether the label is the Chinese form) of a case number, None if an
    English rendering's code is not a court's."""
    year = m["year"]
    if m["court"]:
        court, kind = m["court"], m["type"]
        code = "".join(_PINYIN.get(c, c) for c in court + kind)  # court digits kept
        num = str(int(m["num"]))
        label = f"（{year}）{court}{kind}{'字第' if m['zi'] else ''}{num}号"
        return f"{year}|{code}|{num}", label, True
    if (english := _english_code(m["code"])) is None:
        return None
    code, shown = english
    num = str(int(m["en"]))
    return f"{year}|{code}|{num}", f"({year}) {shown} No. {num}", False


@functools.lru_cache(maxsize=1024)
def _english_code(written: str) -> tuple[str, str] | None:
    """The key's code and the label's spelling of an English rendering's court and
    case-type code ("Zuigaofa Zhiminzhong" -> zuigaofazhiminzhong, "Zui Gao Fa Zhi Min
    Zhong"), None if it does not spell one."""
    runs = re.findall(r"[A-Za-z]+|[0-9]+", written)
    if runs[0] == "SPC":  # some English copy gives 最高法 as the court's initials
        runs[0] = "zuigaofa"
    code = "".join(runs).lower()
    if code.endswith("zi"):  # old numbers' 字, which the Chinese key leaves out too
        code = code[:-2]
    if not _CODE.fullmatch(code):
        return None
    parts = _SYLLABLE.findall(code)
    shown = " ".join(p.capitalize() for p in parts) if "".join(parts) == code else code
    return code, shown


# --- patents --------------------------------------------------------------------------------

# The application number's digits: year, type (1 invention, 2 utility model, 3 design, 8/9
# PCT entering China), serial; before October 2003, a two-digit year and five-digit serial.
_APP_DIGITS = (r"(?:(?:19[89]|20[0-9])[0-9] ?[12389] ?[0-9]{7}"
               r"|(?:8[5-9]|9[0-9]|0[0-3]) ?[12389] ?[0-9]{5})")
_END = r"(?![0-9A-Za-z])"


def _application(group: str) -> str:
    return (rf"[ \t\u00a0]{{0,2}}(?P<{group}>{_APP_DIGITS}) ?(?P<{group}_dot>[.．·])? ?"
            rf"(?P<{group}_check>[0-9Xx]){_END}")


# Every alternative starts with a capital letter, so the engine skips in C to the next Z, C,
# U, E, W or P: a few per cent of an English text, fewer of a Chinese one. In stories this
# pattern is searched for together with the authorities' names (_CAPITALS).
_PATENT_SOURCE = (
    "ZL" + _application("zl") + "|CN" + _application("cn")
    + rf"|CN ?(?P<pub>[0-9]{{9}}|[0-9]{{7}}) ?(?P<pub_kind>[ABCUYS])[0-9]?{_END}"
    r"|U\.?S\.? ?(?P<us_said>[Pp]at(?:ent|\.)? ?)?(?:No\.? ?)?"
    rf"(?:(?P<us_app>(?:19|20)[0-9]{{2}})/?(?P<us_app_no>[0-9]{{7}}) ?A[12]"
    rf"|(?P<us>[0-9]{{1,2}},[0-9]{{3}},[0-9]{{3}}|[0-9]{{7,8}})(?: ?(?P<us_kind>[AB][12]|E|S))?)"
    + _END
    + rf"|EP ?(?P<ep>[0-9]{{7}}|[0-9] [0-9]{{3}} [0-9]{{3}})(?: ?[AB][0-9])?{_END}"
    + rf"|WO ?(?P<wo_year>(?:19|20)[0-9]{{2}})[ /]?(?P<wo>[0-9]{{6}})(?: ?A[0-9])?{_END}"
    + r"|PCT/(?P<pct_office>[A-Z]{2})(?P<pct_year>(?:19|20)[0-9]{2})/(?P<pct>[0-9]{6})"
    + _END)
_PATENT = LazyPattern(_PATENT_SOURCE)


def _patent(m: re.Match[str], typed: bool = False) -> str | None:
    """The key of a patent number, None if it is not one after all. A number the user typed
    as a patent needs no word to say so."""
    for group in ("zl", "cn"):
        if m[group]:
            if not m[f"{group}_dot"] and not m[f"{group}_check"].isdigit():
                return None  # "ZL201910123456X" is more likely a model number than a patent
            return f"CN{m[group].replace(' ', '')}.{m[f'{group}_check'].upper()}"
    if m["pub"]:
        return f"CN{m['pub']}{m['pub_kind']}"
    if m["us_app"]:
        return f"US{m['us_app']}{m['us_app_no']}"
    if m["us"]:
        # A number after "US" is a patent's when the text says so or gives a kind code:
        # "exports to the US 1,234,567 tonnes" is not.
        if not (typed or m["us_said"] or m["us_kind"]):
            return None
        return f"US{m['us'].replace(',', '')}"
    if m["ep"]:
        return f"EP{m['ep'].replace(' ', '')}"
    if m["wo"]:
        return f"WO{m['wo_year']}{m['wo']}"
    return f"PCT/{m['pct_office']}{m['pct_year']}/{m['pct']}"


# --- numbers: bare patent applications and trademarks ------------------------------------

# A run of five digits or more: where application numbers without their ZL or CN, and
# trademark numbers, are looked for. Runs that long are rare in news text, and the pass
# stops only at digits; the words around each are read after.
_NUMBER = LazyPattern(r"[0-9][0-9]{4,40}")
_CHECK_DIGIT = LazyPattern(rf" ?[.．·] ?(?P<check>[0-9Xx]){_END}")
# An application number without ZL or CN ("申请号：201910123456.7") is a patent's only
# after one of these words, a few characters before it: a bare number could be anything.
_PATENT_CONTEXT = ("专利", "申请号", "patent", "application")

# Chinese trademark numbers: 第12345678号商标, 第1234567号“某某”注册商标, 商标注册号12345678,
# 注册号：12345678, 商标注册证第12345678号, 注册商标第12345678号.
_TM_ZH = LazyPattern(
    r"第 ?(?P<n1>[0-9]{5,9}) ?号(?:[“\"「『《][^”\"」』》\n]{1,20}[”\"」』》])?(?:注册)?商标"
    r"|商标(?:注册|申请)?证?(?:号码?|第)[：: 为是]{0,3}第? ?(?P<n2>[0-9]{5,9})(?![0-9])"
    r"|注册号码?[：: 为是]{0,3}(?P<n3>[0-9]{5,9})(?![0-9])"
    r"|注册商标(?:专用权)?第 ?(?P<n4>[0-9]{5,9})(?![0-9])")
_TM_ZH_BEFORE, _TM_ZH_AFTER = 16, 30  # the most characters those put around the number
# English: the words that end right before the number, read lower-cased: "Registration No.",
# "trademark No.", "TM Reg. No.", "trademark (Reg. No.", "mark number".
_TM_EN = LazyPattern(
    r"(?<![a-z])(?:(?P<tm>trade[ -]?marks?|service ?marks?|marks?|tms?)[ \t\u00a0]{0,2}"
    r"(?:\([ \t\u00a0]{0,2})?(?:(?:international )?(?:reg(?:istration|istered|\.)?"
    r"|application|appl?\.)[ \t\u00a0]{0,2}(?:certificate[ \t\u00a0]{0,2})?)?"
    r"|(?:international )?(?:registration|reg\.)[ \t\u00a0]{0,2})"
    r"(?:no\.?|nos\.?|number|#)[ \t\u00a0]{0,2}[:：]?[ \t\u00a0]{0,2}\Z")
_TM_EN_BEFORE = 80
_TM_EN_WORDS = ("mark", "tm", "reg")  # one of them is in every one of those
# "Registration No." without a trademark word is a trademark's unless the words just before
# say whose it is.
_NOT_TM = ("patent", "design", "copyright", "software", "company", "business", "vehicle",
           "专利", "著作权", "版权")


def _numbers(text: str, typed: bool = False) -> list[_Found]:
    """The bare application numbers and trademark numbers in text."""
    out: list[_Found] = []
    for m in _NUMBER.finditer(text):
        start, end = m.span()
        if _after_alnum(text, start) or (end < len(text) and "0" <= text[end] <= "9"):
            continue  # a longer number, or part of a word: ZL… and CN… are _PATENT's
        check = _CHECK_DIGIT.match(text, end) if end - start in (8, 12) else None
        if check and (key := _bare_application(text, start, end, check["check"], typed)):
            out.append((start, check.end(), "patent", key, key, True))
        elif end - start <= 9 and (found := _trademark(text, start, end)):
            out.append(found)
    return out


def _bare_application(text: str, start: int, end: int, check: str, typed: bool) -> str | None:
    digits = text[start:end]
    if not re.fullmatch(_APP_DIGITS, digits):
        return None
    if not typed and not any(w in text[max(0, start - 30):start].lower()
                             for w in _PATENT_CONTEXT):
        return None
    return f"CN{digits}.{check.upper()}"


def _trademark(text: str, start: int, end: int) -> _Found | None:
    key = str(int(text[start:end]))
    label = f"No. {key}"
    lo = max(0, start - _TM_ZH_BEFORE)
    if not text[lo:end].isascii():
        for m in _TM_ZH.finditer(text, lo, min(len(text), end + _TM_ZH_AFTER)):
            if any(m.span(g) == (start, end) for g in ("n1", "n2", "n3", "n4")):
                return m.start(), m.end(), "trademark", key, label, True
    lo = max(0, start - _TM_EN_BEFORE)
    before = text[lo:start]
    lowered = before.lower()
    # The words' search tries each of the 80 places; most numbers have none of them near.
    if not any(w in lowered for w in _TM_EN_WORDS):
        return None
    m = _TM_EN.search(lowered)
    if m is None:
        return None
    if not m["tm"] and any(w in lowered[max(0, m.start() - 30):m.start()] for w in _NOT_TM):
        return None
    # The surface starts at the words, unless lower-casing moved them (a letter became two).
    at = lo + m.start() if len(lowered) == len(before) else start
    return at, end, "trademark", key, label, True


# --- authorities, compiled ------------------------------------------------------------------

@dataclass
class _Node:
    children: dict[str, _Node]
    end: str | None = None  # what must follow a name that ends here ("" for nothing)


def _trie(paths: list[tuple[list[str], str]]) -> list[str]:
    """The alternatives, one per first atom, of one pattern for many names, each a list of
    regex atoms and what must follow it. Names that share a beginning share its atoms, so
    the engine tries one branch per first character, not one per name; a longer name is
    tried before the one it extends."""
    root = _Node({})
    for atoms, end in paths:
        node = root
        for atom in atoms:
            node = node.children.setdefault(atom, _Node({}))
        node.end = end

    def emit(node: _Node) -> str:
        alternatives = [atom + emit(child) for atom, child in node.children.items()]
        if node.end is not None:
            alternatives.append(node.end)
        return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"

    # Below an English name's capital, any case (the acronyms' capitals are checked after,
    # in _authority), up to the end of a word: no \b, for there is none between 据 and CNIPA,
    # a Chinese character being a word character. Once per letter, not once per name: each
    # class costs time to compile.
    return [f"{atom}(?i:{emit(child)})(?![A-Za-z0-9])" if atom.isascii()
            else atom + emit(child) for atom, child in root.children.items()]


def _atoms(name: str) -> list[str]:
    """An English name: its capital first as written, then the rest lower-cased (matched in
    any case), any run of white space between words, either apostrophe."""
    atoms = [re.escape(name[0])]
    for c in name[1:]:
        if c == " ":
            atoms.append(r"\s{1,3}")
        elif c == "'":
            atoms.append("['’]")
        else:
            atoms.append(re.escape(c.lower()))
    return atoms


@functools.lru_cache(maxsize=1024)  # the same few names, again and again
def _fold_name(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).replace("’", "'")
    return " ".join(name.casefold().split())


class _Names(NamedTuple):
    source: str  # the pattern of the patent numbers that start with capitals and every name
    key_of: dict[str, str]  # each name, folded -> its key
    acronyms: frozenset[str]  # folded
    # a name, folded -> the longer names that end with it: the last word before it, the
    # pattern of the words before it, in any case, and the longer name's key
    longer: dict[str, list[tuple[str, re.Pattern[str], str]]]


@functools.cache  # built on first use, like the patterns
def _names() -> _Names:
    key_of: dict[str, str] = {}
    paths: dict[str, tuple[list[str], str]] = {}
    acronyms = set()
    for key, (english, zh, others) in AUTHORITIES.items():
        for name in (english, zh, *others):
            key_of.setdefault(_fold_name(name), key)
            if not name.isascii():
                paths[name] = ([re.escape(c) for c in name],
                               f"(?!{_NOT_BEFORE[name]})" if name in _NOT_BEFORE else "")
            else:
                # The name's first letter is matched as a capital: English gives these
                # names as proper nouns, and a pattern that starts only at capitals (and
                # Chinese characters) lets the engine skip the rest in C: a quarter of the
                # time of one that tries every letter.
                paths[name] = (_atoms(name), "")
                if name.isupper() and " " not in name:
                    acronyms.add(_fold_name(name))
    # One search for both, not two: each pass over a text costs as much as the matching in
    # it. Every alternative starting with a literal character keeps the skipping in C, and
    # patents first is harmless: no name starts like ZL2019, CN 1234 or US 10,123,456.
    source = "|".join([_PATENT_SOURCE, *_trie(list(paths.values()))])
    # The capital that the pattern starts at is not always the longer name's first letter:
    # "the intellectual property tribunal of the Supreme People's Court" is the tribunal, yet
    # the pattern finds the court. So each English name that ends another keeps the words
    # that come before it in the other, to be read before it in any case.
    longer: dict[str, list[tuple[str, re.Pattern[str], str]]] = {}
    english = sorted((n for n in paths if n.isascii()), key=len, reverse=True)
    for name in english:
        for tail in english:
            cut = len(name) - len(tail)
            if cut > 0 and name[cut - 1] == " " and _fold_name(name[cut:]) == _fold_name(tail):
                words = "".join(_atoms("#" + name[:cut])[1:])
                longer.setdefault(_fold_name(tail), []).append((
                    name[:cut].split()[-1].lower(),
                    re.compile(rf"(?i)(?<![a-z0-9]){words}\Z"),
                    key_of[_fold_name(name)]))
    return _Names(source, key_of, frozenset(acronyms), longer)


_CAPITALS = LazyPattern(lambda: _names().source)
# The EU's supplementary protection certificates, also "SPCs", are not the court.
_EU_SPC = LazyPattern(r"(?i)supplementary\s+protection\s+certificate")


def _authority(m: re.Match[str], text: str, eu_spc: bool) -> tuple[int, str] | None:
    """Where the name starts and its key, None if it is not one after all."""
    name, start = m[0], m.start()
    if name.isascii() and _after_alnum(text, start):
        return None
    folded = _fold_name(name)
    if folded in _names().acronyms and not name.isupper():
        return None  # acronyms in capitals only: "Spc", "samr" are not them
    if folded == "spc" and eu_spc:
        return None
    for last, words, key in _names().longer.get(folded, ()):
        # Searching the 80 characters before costs microseconds; a glance, nanoseconds.
        if last in text[max(0, start - 24):start].lower() and (
                before := words.search(text, max(0, start - 80), start)):
            return before.start(), key
    return start, _names().key_of[folded]


def _authority_label(key: str) -> str:
    english, zh, _ = AUTHORITIES[key]
    return f"{english} ({zh})"


# --- finding them all -----------------------------------------------------------------------

def _after_alnum(text: str, start: int) -> bool:
    """Whether text[start] continues an ASCII word or number (no match starts there)."""
    return start > 0 and text[start - 1].isascii() and text[start - 1].isalnum()


# Full-width digits and Latin letters (ＺＬ２０１９…) are rare enough in stories that a text
# is folded only when it has them; full-width punctuation, in every Chinese story, is in the
# patterns' classes instead. The fold maps one character to one so that positions, and so
# surfaces, stay those of the text as given.
_WIDE = LazyPattern("[\\uff10-\\uff19\\uff21-\\uff3a\\uff41-\\uff5a]")


def _fold_table() -> dict[int, str]:
    table = {}
    for cp in (0xA0, 0x3000, *range(0x2000, 0x200B), *range(0xFE50, 0xFE6C),
               *range(0xFF01, 0xFF5F)):
        folded = unicodedata.normalize("NFKC", chr(cp))
        if len(folded) == 1 and folded != chr(cp):
            table[cp] = folded
    return table


_FOLD = _fold_table()

# (start, end, kind, key, label, whether the label is the preferred one)
_Found = tuple[int, int, str, str, str, bool]


def _candidates(text: str) -> list[_Found]:
    out: list[_Found] = []
    for m in _CASE.finditer(text):
        if case := _case(m):
            out.append((m.start(), m.end(), "case", case[0], case[1], case[2]))
    # Once per text, not once per "SPC": a page of them would read the text each time.
    eu_spc = "SPC" in text and _EU_SPC.search(text) is not None
    for m in _CAPITALS.finditer(text):
        if m.lastindex is None:  # no group: a name
            if authority := _authority(m, text, eu_spc):
                start, key = authority
                out.append((start, m.end(), "authority", key, _authority_label(key), True))
        elif not _after_alnum(text, m.start()) and (key := _patent(m)):
            out.append((m.start(), m.end(), "patent", key, key, True))
    out.extend(_numbers(text))
    return out


def _scan(text: str) -> list[_Found]:
    """What text names, leftmost first; of two that overlap, the longer (the case number
    over the court code inside it, the tribunal over the court)."""
    text = text[:MAX_CHARS]
    if not text.isascii() and _WIDE.search(text):
        text = text.translate(_FOLD)
    kept: list[_Found] = []
    end = 0
    for found in sorted(_candidates(text), key=lambda f: (f[0], f[0] - f[1])):
        if found[0] >= end:
            kept.append(found)
            end = found[1]
    return kept


def extract(*texts: str | None) -> list[Entity]:
    """Every entity in the texts (title, summary, body...), one per (kind, key), in order of
    first appearance. A case's label is its Chinese form if any text gave that."""
    found: dict[tuple[str, str], Entity] = {}
    settled: set[tuple[str, str]] = set()  # those whose label is the preferred one
    for text in texts:
        if not text:
            continue
        for start, end, kind, key, label, preferred in _scan(text):
            entity = found.get((kind, key))
            if entity is None:
                if len(found) >= MAX_ENTITIES:
                    return list(found.values())
                found[kind, key] = Entity(kind, key, label, text[start:end])
            elif preferred and (kind, key) not in settled:
                found[kind, key] = replace(entity, label=label)
            if preferred:
                settled.add((kind, key))
    return list(found.values())


# --- what a user types ----------------------------------------------------------------------

def normalize(kind: str, value: str) -> str | None:
    """The key of a value a user typed as that kind (a case number in either language, a
    patent or trademark number with or without its prefix, an authority's name or key, or
    the key itself), or None if it is not recognisable as that kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown entity kind {kind!r}: one of {', '.join(KINDS)}")
    # NFKC: what a user types may be full-width (ＺＬ…) or carry a no-break space.
    value = unicodedata.normalize("NFKC", value[:1_000]).strip()
    if not value:
        return None
    if kind == "case":
        return _normalize_case(value)
    if kind == "patent":
        return _normalize_patent(value)
    if kind == "trademark":
        return _normalize_trademark(value)
    return _normalize_authority(value)


def _normalize_case(value: str) -> str | None:
    if m := _CASE_KEY.fullmatch(value):
        return value if _CODE.fullmatch(m[2]) else None
    # A year without its brackets, "2023 最高法知民终123号", is what a user types.
    if m := re.match(r"((?:19|20)[0-9]{2})(?![0-9|]) ?", value):
        value = f"({m[1]}){value[m.end():]}"
    for m in _CASE.finditer(value):
        if case := _case(m):
            return case[0]
    return None


def _normalize_patent(value: str) -> str | None:
    for m in _PATENT.finditer(value.upper()):
        if key := _patent(m, typed=True):
            return key
    return next((f[3] for f in _numbers(value, typed=True) if f[2] == "patent"), None)


def _normalize_trademark(value: str) -> str | None:
    if m := re.fullmatch(r"(?:第|No\.?|#)? ?([0-9]{5,9}) ?号?", value, re.IGNORECASE):
        return str(int(m[1]))
    return next((f[3] for f in _numbers(value) if f[2] == "trademark"), None)


def _normalize_authority(value: str) -> str | None:
    folded = _fold_name(value)
    if folded in AUTHORITIES:
        return folded
    if folded in _names().key_of:
        return _names().key_of[folded]
    # In a story an English name starts with a capital; a user may type it in lower case.
    for typed in (value, value.upper()):
        keys = {key for _, _, kind, key, _, _ in _scan(typed) if kind == "authority"}
        if keys:
            return keys.pop() if len(keys) == 1 else None
    return None


def parse_query(value: str) -> tuple[str, str] | None:
    """(kind, key) for what a user typed as --entity: "kind:value" names the kind, else each
    kind is tried, the most particular first (a bare 12345678 is a trademark number; a
    patent number says so by its dot or prefix). None if nothing is recognisable."""
    kind, sep, rest = value.partition(":")
    kind = kind.strip().lower()
    if sep and kind in KINDS:
        key = normalize(kind, rest)
        return (kind, key) if key else None
    for kind in ("case", "patent", "authority", "trademark"):
        if key := normalize(kind, value):
            return kind, key
    return None
