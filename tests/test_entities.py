"""Case numbers, patent and trademark numbers and authorities found in stories, in English and
Chinese, and the keys that make the two languages' forms of one thing meet."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipnews.entities import (
    AUTHORITIES,
    KINDS,
    MAX_ENTITIES,
    Entity,
    extract,
    normalize,
    parse_query,
)


def found(*texts: str | None) -> set[tuple[str, str]]:
    return {(e.kind, e.key) for e in extract(*texts)}


def keys(kind: str, *texts: str | None) -> list[str]:
    return [e.key for e in extract(*texts) if e.kind == kind]


# --- case numbers ---------------------------------------------------------------------------

SPC_123 = "2023|zuigaofazhiminzhong|123"


@pytest.mark.parametrize(("text", "key"), [
    ("该案案号为（2023）最高法知民终123号。", SPC_123),
    ("(2022)京73民初1234号", "2022|jing73minchu|1234"),
    ("（2021）沪0115民初12345号判决", "2021|hu0115minchu|12345"),
    ("〔2020〕粤03民初3210号", "2020|yue03minchu|3210"),
    ("[2019]最高法知行终5号", "2019|zuigaofazhixingzhong|5"),
    ("（2018）浙0192民初 81 号", "2018|zhe0192minchu|81"),  # spaces as some sites set them
    ("（2020）京民终112号", "2020|jingminzhong|112"),  # a high court: no digits
    ("（2022）最高法民申4321号", "2022|zuigaofaminshen|4321"),
    ("（2021）苏05知民辖终9号", "2021|su05zhiminxiazhong|9"),
    ("（2019）粤03民初3210号之一", "2019|yue03minchu|3210"),  # a ruling within the case
])
def test_chinese_case_numbers(text: str, key: str) -> None:
    assert keys("case", text) == [key]


@pytest.mark.parametrize("text", [
    "In (2023) Zui Gao Fa Zhi Min Zhong No. 123, the court held",
    "the ruling (2023)Zuigaofa Zhiminzhong No.123 said",
    "(2023) zui gao fa zhi min zhong no. 123",
    "(2023) ZUI GAO FA ZHI MIN ZHONG NO 123",
    "[2023] Zuigaofa Zhi Min Zhong 123",
    "（2023）Zui Gao Fa Zhi Min Zhong No. 123",
    "(2023) SPC Zhi Min Zhong No. 123",
])
def test_english_renderings_of_a_case_number_meet_the_chinese(text: str) -> None:
    assert keys("case", text) == keys("case", "（2023）最高法知民终123号") == [SPC_123]


@pytest.mark.parametrize(("english", "chinese"), [
    ("(2022) Jing 73 Min Chu No. 1234", "（2022）京73民初1234号"),
    ("(2022) Jing 73 Min Chu 1234", "（2022）京73民初1234号"),
    ("(2021) Hu 0115 Min Chu No. 12345", "（2021）沪0115民初12345号"),
    ("(2021) Hu0115Minchu No. 12345", "（2021）沪0115民初12345号"),
    ("(2015) Jing Zhi Min Chu Zi No. 1234", "（2015）京知民初字第1234号"),
    ("(2019) Yue 03 Min Chu No. 3210", "（2019）粤03民初3210号"),
])
def test_english_and_chinese_forms_share_one_key(english: str, chinese: str) -> None:
    assert keys("case", english) == keys("case", chinese)
    assert len(keys("case", english)) == 1


def test_a_case_in_both_languages_is_one_entity_labelled_in_chinese() -> None:
    entities = extract("Court rules in (2023) Zui Gao Fa Zhi Min Zhong No. 123",
                       None, "本案（2023）最高法知民终123号……（2023）最高法知民终123号")
    assert entities == [Entity("case", SPC_123, "（2023）最高法知民终123号",
                               "(2023) Zui Gao Fa Zhi Min Zhong No. 123")]


def test_an_english_only_case_is_labelled_tidily() -> None:
    [entity] = extract("see (2023)Zuigaofa Zhiminzhong No.123.")
    assert entity.label == "(2023) Zui Gao Fa Zhi Min Zhong No. 123"
    assert entity.surface == "(2023)Zuigaofa Zhiminzhong No.123"


@pytest.mark.parametrize("text", [
    "(2023) Annual Report No. 5",
    "(2021) Shanghai Customs 12345",
    "the (2023) figures: 1234",
    "（2023）年度报告第5号",
    "（2023）12345号",
    "(2023) Min Min Min Min Min Min Min Min No. 5",  # no court
    "(2023) Zhi Min Zhong No. 5",  # no court either
])
def test_what_only_looks_like_a_case_number(text: str) -> None:
    assert keys("case", text) == []


# --- patents --------------------------------------------------------------------------------

APP = "CN201910123456.7"


@pytest.mark.parametrize("text", [
    "专利号：ZL201910123456.7",
    "ZL 2019 1 0123456.7",
    "patent ZL 201910123456.7 was upheld",
    "涉案专利（专利号为ZL201910123456.7）",
    "CN201910123456.7",
    "CN 201910123456.7",
    "申请号：201910123456.7",
    "its application No. 201910123456.7",
    "Patent 201910123456.7",
])
def test_application_numbers_meet(text: str) -> None:
    assert keys("patent", text) == [APP]


@pytest.mark.parametrize(("text", "key"), [
    ("ZL 98 1 23456.X", "CN98123456.X"),  # before 2003: eight digits
    ("专利号ZL02123456.3", "CN02123456.3"),
    ("ZL201930123456.1 外观设计", "CN201930123456.1"),
    ("ZL202020123456.X", "CN202020123456.X"),
])
def test_other_application_numbers(text: str, key: str) -> None:
    assert keys("patent", text) == [key]


@pytest.mark.parametrize(("text", "key"), [
    ("CN 123456789 A", "CN123456789A"),
    ("公开号CN123456789B", "CN123456789B"),
    ("CN 112345678 U", "CN112345678U"),
    ("CN1234567A", "CN1234567A"),
    ("US 10,123,456 B2", "US10123456"),
    ("U.S. Patent No. 10,123,456", "US10123456"),
    ("US Pat. No. 9,876,543", "US9876543"),
    ("US 2020/0123456 A1", "US20200123456"),
    ("EP 1234567", "EP1234567"),
    ("EP 1 234 567 B1", "EP1234567"),
    ("WO 2020/123456", "WO2020123456"),
    ("WO2020123456A1", "WO2020123456"),
    ("PCT/CN2020/123456", "PCT/CN2020/123456"),
])
def test_publication_and_foreign_numbers(text: str, key: str) -> None:
    assert keys("patent", text) == [key]


def test_publication_numbers_keep_their_kind_code() -> None:
    assert keys("patent", "CN123456789A, later CN123456789B") == ["CN123456789A", "CN123456789B"]


@pytest.mark.parametrize("text", [
    "联系电话13812345678",
    "电话：010-62345678",
    "on 2023-11-17 and 2023.11.17",
    "罚款201910123456.78元",
    "worth 201910123456.7 yuan",  # no ZL, no CN, no word saying patent
    "ISBN 978-7-111-12345-6",
    "ISBN 9787111123456",
    "exports to the US 1,234,567 tonnes",
    "in 2019 and 2020, 20191 cases",
    "XZL201910123456.7",  # part of a longer word
    "zl201910123456.7",  # the prefix is in capitals, and nothing says patent
    "ZL2019101234567890",  # too long
])
def test_what_is_not_a_patent_number(text: str) -> None:
    assert keys("patent", text) == []


# --- trademarks -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ("Registration No. 12345678", "12345678"),
    ("the mark (trademark No. 1234567) was cancelled", "1234567"),
    ("TM Reg. No. 1234567", "1234567"),
    ("trademark registration number 12345678", "12345678"),
    ("its Trademark Reg. No.: 23456789", "23456789"),
    ("第12345678号商标", "12345678"),
    ("第 1234567 号注册商标", "1234567"),
    ("第12345678号“乔丹”商标", "12345678"),
    ("注册号：12345678", "12345678"),
    ("商标注册号12345678", "12345678"),
    ("商标注册证第12345678号", "12345678"),
    ("注册商标第7654321号", "7654321"),
])
def test_trademark_numbers(text: str, key: str) -> None:
    assert keys("trademark", text) == [key]


def test_trademark_numbers_in_both_languages_meet() -> None:
    entities = extract("Trademark No. 12345678 was invalidated.", "第12345678号商标被宣告无效。")
    assert [(e.kind, e.key, e.surface) for e in entities] == [
        ("trademark", "12345678", "Trademark No. 12345678")]


@pytest.mark.parametrize("text", [
    "12345678",
    "No. 12345678",  # nothing says whose number
    "第12345678号",  # nor here
    "application No. 12345678",
    "patent registration No. 12345678",
    "company registration No. 1234567",
    "bookmark No. 1234567",
    "注册资本12345678元",
    "第2023号商标",  # too short to be a registration number
])
def test_a_number_without_trademark_words_is_not_taken(text: str) -> None:
    assert keys("trademark", text) == []


# --- authorities ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ("CNIPA said", "cnipa"),
    ("据CNIPA统计", "cnipa"),
    ("China National Intellectual Property Administration", "cnipa"),
    ("the State Intellectual Property Office (SIPO)", "cnipa"),
    ("国家知识产权局发布", "cnipa"),
    ("国知局", "cnipa"),
    ("SAMR", "samr"),
    ("State Administration for Market Regulation", "samr"),
    ("国家市场监督管理总局", "samr"),
    ("市场监管总局", "samr"),
    ("GACC", "gacc"),
    ("the General Administration of Customs", "gacc"),
    ("China Customs", "gacc"),
    ("海关总署", "gacc"),
    ("Shanghai Customs", "customs-shanghai"),
    ("Shanghai customs officers", "customs-shanghai"),
    ("上海海关查获", "customs-shanghai"),
    ("黄埔海关", "customs-huangpu"),
    ("Gongbei Customs", "customs-gongbei"),
    ("Xi’an Customs", "customs-xian"),
    ("Supreme People's Court", "court-spc"),
    ("the Supreme People’s Court", "court-spc"),
    ("the SPC ruled", "court-spc"),
    ("最高人民法院", "court-spc"),
    ("最高法发布", "court-spc"),
    ("Beijing IP Court", "court-beijing-ip"),
    ("Beijing Intellectual Property Court", "court-beijing-ip"),
    ("北京知识产权法院", "court-beijing-ip"),
    ("上海知识产权法院", "court-shanghai-ip"),
    ("Guangzhou IP Court", "court-guangzhou-ip"),
    ("海南自由贸易港知识产权法院", "court-hainan-ip"),
    ("Shenzhen Intermediate People's Court", "court-shenzhen-intermediate"),
    ("深圳市中级人民法院", "court-shenzhen-intermediate"),
    ("Beijing Higher People's Court", "court-beijing-high"),
    ("上海市高级人民法院", "court-shanghai-high"),
    ("Hangzhou Internet Court", "court-hangzhou-internet"),
    ("北京互联网法院", "court-beijing-internet"),
    ("Ministry of Public Security", "mps"),
    ("公安部", "mps"),
    ("National Copyright Administration", "ncac"),
    ("国家版权局", "ncac"),
    ("the Trademark Office", "ctmo"),
    ("商标局", "ctmo"),
    ("WIPO", "wipo"),
    ("World Intellectual Property Organization", "wipo"),
    ("世界知识产权组织", "wipo"),
    ("BEIJING IP COURT RULES", "court-beijing-ip"),
])
def test_authorities(text: str, key: str) -> None:
    assert keys("authority", text) == [key]


def test_authority_labels_name_both() -> None:
    [cnipa] = extract("国家知识产权局")
    assert cnipa == Entity("authority", "cnipa", "CNIPA (国家知识产权局)", "国家知识产权局")
    [spc] = extract("the Supreme People’s Court")
    assert spc.label == "Supreme People's Court (最高人民法院)"
    assert spc.surface == "Supreme People’s Court"


@pytest.mark.parametrize(("text", "key"), [
    ("最高人民法院知识产权法庭", "court-spc-ip"),
    ("最高法知识产权法庭", "court-spc-ip"),
    ("the IP Tribunal of the Supreme People's Court", "court-spc-ip"),
    ("the Supreme People's Court's IP Tribunal", "court-spc-ip"),
    ("the SPC IP Tribunal", "court-spc-ip"),
    # as a story from Shanghai Daily put it: the longer name need not start with a capital
    ("to appeal to the intellectual property tribunal of the Supreme People's Court.",
     "court-spc-ip"),
    ("the ip tribunal of the SPC", "court-spc-ip"),
    ("the United States patent and Trademark Office", "uspto"),
    ("国家知识产权局商标局", "ctmo"),
    ("the US Patent and Trademark Office", "uspto"),
    ("China National Intellectual Property Administration", "cnipa"),
])
def test_the_longest_name_wins(text: str, key: str) -> None:
    assert keys("authority", text) == [key]


def test_the_longer_name_is_the_surface() -> None:
    [entity] = extract("to the intellectual property tribunal of the Supreme People's Court.")
    assert entity.surface == "intellectual property tribunal of the Supreme People's Court"


def test_the_court_code_inside_a_case_number_is_not_the_court() -> None:
    # The number names the court in either language; only the Chinese spells its name.
    assert found("（2023）最高法知民终123号") == {("case", SPC_123)}
    assert found("(2019) SPC Zhi Min Zhong No. 1") == {("case", "2019|zuigaofazhiminzhong|1")}


@pytest.mark.parametrize("text", [
    "海关查获一批侵权货物",  # customs in general
    "the customs officers",
    "美国最高法院",  # another country's supreme court
    "公安部门",  # the police in general
    "各地公安部署开展专项行动",
    "spc",
    "Spc and Samr",  # acronyms in capitals only
    "SPCs and the SPC manufacturing waiver: supplementary protection certificates",
    "NSAMR",
    "知识产权局",  # which one?
])
def test_what_is_not_an_authority(text: str) -> None:
    assert keys("authority", text) == []


def test_every_authority_is_found_by_its_names_and_labelled() -> None:
    for key, (english, zh, others) in AUTHORITIES.items():
        for name in (english, zh, *others):
            assert keys("authority", f"据{name}称") == [key], name
            assert normalize("authority", name) == key, name
        assert normalize("authority", key) == key


# --- one story ------------------------------------------------------------------------------

STORY_ZH = """最高人民法院知识产权法庭日前对一起发明专利侵权上诉案作出终审判决，案号为
（2023）最高法知民终123号。涉案专利号为ZL 2019 1 0123456.7。此前，北京知识产权法院
一审认定侵权成立。另据上海海关消息，该公司第12345678号商标已在海关总署备案。"""

STORY_EN = """The IP Tribunal of the Supreme People's Court has ruled in (2023) Zui Gao Fa Zhi
Min Zhong No. 123 that patent ZL201910123456.7 was infringed, upholding the Beijing IP
Court. Shanghai Customs said trademark No. 12345678 was recorded with the GACC. Call
13812345678; the hearing was on 2023-11-17 and damages were RMB 5,000,000."""


def test_a_story_in_each_language_gives_the_same_entities_in_order() -> None:
    expected = [("authority", "court-spc-ip"), ("case", SPC_123),
                ("patent", APP), ("authority", "court-beijing-ip"),
                ("authority", "customs-shanghai"), ("trademark", "12345678"),
                ("authority", "gacc")]
    assert [(e.kind, e.key) for e in extract(STORY_ZH)] == expected
    assert [(e.kind, e.key) for e in extract(STORY_EN)] == expected


def test_texts_are_read_in_order_and_each_entity_kept_once() -> None:
    entities = extract("Shanghai Customs seizes fakes", None, "", STORY_EN)
    assert entities[0] == Entity("authority", "customs-shanghai",
                                 "Shanghai Customs (上海海关)", "Shanghai Customs")
    assert len(entities) == len({(e.kind, e.key) for e in entities}) == 7
    assert {e.kind for e in entities} == set(KINDS)


def test_no_text_no_entities() -> None:
    assert extract() == extract(None, "") == extract("nothing to see here") == []


def test_full_width_text_is_read_and_surfaces_kept_as_given() -> None:
    text = ("专利号：ＺＬ２０１９１０１２３４５６．７，"
            "案号（２０２３）最高法知民终１２３号，ＣＮＩＰＡ")
    entities = extract(text)
    assert [(e.kind, e.key) for e in entities] == [
        ("patent", APP), ("case", SPC_123), ("authority", "cnipa")]
    assert [e.surface for e in entities] == [
        "ＺＬ２０１９１０１２３４５６．７", "（２０２３）最高法知民终１２３号", "ＣＮＩＰＡ"]
    assert entities[1].label == "（2023）最高法知民终123号"


def test_a_page_of_numbers_gives_at_most_max_entities() -> None:
    text = " ".join(f"trademark No. {n}" for n in range(10_000_000, 10_002_000))
    assert len(extract(text)) == MAX_ENTITIES


# --- what a user types ----------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "value", "key"), [
    ("case", "(2023) Zui Gao Fa Zhi Min Zhong No. 123", SPC_123),
    ("case", "（2023）最高法知民终123号", SPC_123),
    ("case", "2023 最高法知民终123号", SPC_123),
    ("case", "(2023)zuigaofa zhiminzhong 123", SPC_123),
    ("case", SPC_123, SPC_123),
    ("patent", "ZL201910123456.7", APP),
    ("patent", "zl 2019 1 0123456.7", APP),
    ("patent", "201910123456.7", APP),
    ("patent", "CN201910123456.7", APP),
    ("patent", "ＺＬ２０１９１０１２３４５６．７", APP),
    ("patent", "CN 123456789 A", "CN123456789A"),
    ("patent", "US10123456", "US10123456"),
    ("trademark", "12345678", "12345678"),
    ("trademark", "No. 12345678", "12345678"),
    ("trademark", "第12345678号", "12345678"),
    ("trademark", "Registration No. 12345678", "12345678"),
    ("trademark", "商标注册号12345678", "12345678"),
    ("authority", "CNIPA", "cnipa"),
    ("authority", "cnipa", "cnipa"),
    ("authority", "国家知识产权局", "cnipa"),
    ("authority", "the cnipa", "cnipa"),
    ("authority", "shanghai customs", "customs-shanghai"),
    ("authority", "court-spc", "court-spc"),
    ("authority", "Supreme People’s Court", "court-spc"),
])
def test_normalize(kind: str, value: str, key: str) -> None:
    assert normalize(kind, value) == key


@pytest.mark.parametrize(("kind", "value"), [
    ("case", "2023"),
    ("case", "最高法知民终123号"),  # no year
    ("case", "2023|notacourt|123"),
    ("patent", "12345678"),
    ("patent", "CNIPA"),
    ("trademark", "1234"),
    ("trademark", "CNIPA"),
    ("authority", "海关"),
    ("authority", "customs"),
    ("authority", "CNIPA and SAMR"),  # two: which?
    ("authority", ""),
    ("case", "   "),
])
def test_normalize_refuses_what_is_not_that_kind(kind: str, value: str) -> None:
    assert normalize(kind, value) is None


def test_normalize_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown entity kind"):
        normalize("court", "SPC")


@pytest.mark.parametrize(("value", "expected"), [
    ("(2023) Zui Gao Fa Zhi Min Zhong No. 123", ("case", SPC_123)),
    ("（2022）京73民初1234号", ("case", "2022|jing73minchu|1234")),
    ("ZL201910123456.7", ("patent", APP)),
    ("201910123456.7", ("patent", APP)),
    ("CN123456789A", ("patent", "CN123456789A")),
    ("12345678", ("trademark", "12345678")),
    ("第12345678号商标", ("trademark", "12345678")),
    ("CNIPA", ("authority", "cnipa")),
    ("国家知识产权局", ("authority", "cnipa")),
    ("最高人民法院知识产权法庭", ("authority", "court-spc-ip")),
    ("trademark: 12345678", ("trademark", "12345678")),
    ("Patent:201910123456.7", ("patent", APP)),
    ("authority:SPC", ("authority", "court-spc")),
    ("case:" + SPC_123, ("case", SPC_123)),
])
def test_parse_query(value: str, expected: tuple[str, str]) -> None:
    assert parse_query(value) == expected


@pytest.mark.parametrize("value", [
    "", "   ", "hello", "2023", "海关", "patent:12345678", "case:CNIPA", "1234",
])
def test_parse_query_of_nothing_recognisable(value: str) -> None:
    assert parse_query(value) is None


def test_keys_round_trip() -> None:
    """The key of anything found is understood as a query for the same thing."""
    for entity in extract(STORY_EN, STORY_ZH, "CN 123456789 A, WO 2020/123456, EP 1234567"):
        assert normalize(entity.kind, entity.key) == entity.key, entity
        assert parse_query(f"{entity.kind}:{entity.key}") == (entity.kind, entity.key)
        assert parse_query(entity.surface) == (entity.kind, entity.key), entity


# --- bounded work ---------------------------------------------------------------------------

HOSTILE = {
    "brackets": "(" * 100_000,
    "full-width brackets": "（" * 100_000,
    "ZL": "ZL" * 100_000,
    "ZL and digits": "ZL2019" * 40_000,
    "years": "（2023）" * 40_000,
    "English codes": "(2023) Zui Gao Fa Zhi Min " * 10_000,
    "long words": "(2023) " + "Zui" * 100_000,
    "digits": "1" * 300_000,
    "numbers": "No. 12345 " * 30_000,
    "trademark numbers": "trademark No. 1 " * 30_000,
    "names": "Supreme People's " * 20_000,
    "whole names": "the ip tribunal of the Supreme People's Court " * 10_000,
    "capitals": "SPC " * 60_000,
    "Chinese": "第" * 100_000 + "号商标",
    "quotes": "第12345678号“" * 30_000,
    "mixed": "（2023）最高法知民终ZL2019 1 Shanghai 第1234号 No. " * 5_000,
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_is_read_in_bounded_time(name: str) -> None:
    # A hang guard, not a benchmark: each takes milliseconds.
    entities = extract(HOSTILE[name], HOSTILE[name])
    assert len(entities) <= MAX_ENTITIES


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([
    "(", ")", "（", "）", "2023", "最高法", "知民终", "123", "号", "Zui Gao Fa", "Zhi Min Zhong",
    "No.", " ", "ZL", "CN", ".", "7", "X", "2019", "10123456", "第", "商标", "注册号", "：",
    "trademark", "Reg.", "Shanghai", "Customs", "上海海关", "SPC", "国家知识产权局", "\n",
    "ＺＬ", "２０１９", "İ", "ß",
]), max_size=40))
def test_any_text_gives_well_formed_entities(parts: list[str]) -> None:
    text = "".join(parts)
    entities = extract(text)
    assert len({(e.kind, e.key) for e in entities}) == len(entities)
    for entity in entities:
        assert entity.kind in KINDS
        assert entity.surface and entity.surface in text
        assert entity.key and entity.label
        assert normalize(entity.kind, entity.key) == entity.key, entity
