"""The captured SHINE pages in ../shared/real-pages (skipped when that folder is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipnews.decoding import decode_html
from ipnews.relevance import ip_terms
from ipnews.sources import get_source_class

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-pages" / "shine"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-pages is absent")


def test_real_article_matches_its_expected_json() -> None:
    expected = json.loads((REAL / "article-2002262860.expected.json").read_text("utf-8"))
    decoded = decode_html((REAL / "article-2002262860.html").read_bytes(), "text/html")
    assert decoded.encoding == "utf-8-bom"
    article = get_source_class("shine")().extract(decoded.text, expected["url"])
    assert article.title == expected["title"]
    assert article.published_at == "2020-02-26T15:25:00+08:00"
    assert article.authors == expected["author_block"]
    assert article.wire_source == expected["source"]
    assert article.editor == expected["editor"]
    assert article.section == expected["column_meta"]
    assert article.summary == expected["summary_m_quote"]
    assert article.body.split("\n\n") == expected["body_paragraphs"]
    assert article.extraction == "selectors"
    for boilerplate in ("EXPLORE SHINE", "Special Reports", "沪ICP", "About Us", "Copyright"):
        assert boilerplate not in article.body
    # A COVID story: the IP filter must not keep it.
    assert ip_terms(f"{article.title} {article.summary} {article.body}") == []


def test_real_listing_matches_its_expected_json() -> None:
    expected = json.loads((REAL / "listing-news-nation.expected.json").read_text("utf-8"))
    html = decode_html((REAL / "listing-news-nation.html").read_bytes(), "text/html").text
    listing = get_source_class("shine")().parse_listing(html, "https://www.shine.cn/news/nation/")
    assert [i.url for i in listing.items] == [
        "https://www.shine.cn" + s["href"] for s in expected["stories"]]
    assert [i.title for i in listing.items] == [s["title"] for s in expected["stories"]]
    assert [i.summary for i in listing.items] == [s["summary"] for s in expected["stories"]]
    first = expected["stories"][0]["data_date"]  # "2020/6/12 21:39:51", Shanghai time
    assert listing.items[0].published_at == "2020-06-12T21:39:51+08:00", first
    assert listing.next_url == "https://www.shine.cn/news/nation/list_2.shtml"


# --- the real pages of the sources added with issue 10 -----------------------------------
SHARED = REAL.parent


def _real(source: str, file: str, url: str, content_type: str | None = "text/html"):
    decoded = decode_html((SHARED / file).read_bytes(), content_type)
    return decoded, get_source_class(source)().extract(decoded.text, url)


def test_real_cnipa_page_text_between_the_markers_and_its_pdfs_as_attachments() -> None:
    _decoded, article = _real("cnipa", "cnipa/art_3166_182074.html",
                              "https://www.cnipa.gov.cn/art/2023/2/13/art_3166_182074.html",
                              "text/html; charset=UTF-8")
    assert article.title == "国家知识产权局专利检索及分析系统介绍"
    # pubdate, not Maketime (2024-05-24 19:03:17, when the page was regenerated)
    assert article.published_at == "2023-02-13T16:37:00+08:00"
    assert article.section == "专利信息资源动态"
    assert article.extraction == "selectors"
    assert article.body.split("\n\n") == [
        article.body.split("\n\n")[0], "国家知识产权局专利信息资源介绍详见："]
    assert article.body.startswith("近日，国家知识产权局智能化专利检索及分析系统")
    assert [a["title"] for a in article.attachments] == [
        f"{i}. 国家知识产权局专利检索及分析系统介绍（{n}）{t}.pdf" for i, n, t in (
            (1, "一", "概览"), (2, "二", "专利检索"), (3, "三", "专利分析"), (4, "四", "辅助工具"))]
    assert all(a["url"].startswith("https://www.cnipa.gov.cn/module/download/downfile.jsp?")
               for a in article.attachments)
    assert ".pdf" not in article.body and "字号" not in article.body


def test_real_people_page_saved_as_utf8_under_a_gb2312_declaration() -> None:
    decoded, article = _real("people-ip", "people/c1001-40223222.html",
                             "http://ip.people.com.cn/n1/2024/0424/c1001-40223222.html")
    assert decoded.encoding == "utf-8"  # its bytes, not its meta (charset=GB2312)
    assert article.title.startswith("促进航天技术更好惠及人民")
    assert article.published_at == "2024-04-24T23:52:00+08:00"  # the channel line's time
    assert article.wire_source == "新华网"
    assert article.editor == "牛镛、岳弘彬"
    assert article.body.startswith("新华社北京4月24日电")
    for furniture in ("责编", "分享让更多人看到", "客户端下载", "人民日报社概况"):
        assert furniture not in article.body


def test_real_xinhua_2023_template_text_time_source_and_editor() -> None:
    _decoded, article = _real("xinhua", "xinhua/newscn-2023-article.html",
                              "https://english.news.cn/20231117/"
                              "0123456789abcdef0123456789abcdef/c.html")
    assert article.extraction == "selectors"
    assert article.title == "短缺药品保供稳价 全力保障临床用药需求"
    assert article.published_at == "2023-11-17T20:52:15+08:00"  # the URL's day, the page's time
    assert article.editor == "张樵苏"
    assert article.body.startswith("新华社北京11月17日电")
    assert "纠错" not in article.body


def test_real_china_daily_page_keeps_a_bare_publishdate_a_day() -> None:
    _decoded, article = _real("chinadaily", "chinadaily/WS65571297a310d5acd876f404.html",
                              "https://www.chinadaily.com.cn/a/202311/17/"
                              "WS65571297a310d5acd876f404.html")
    assert article.extraction == "selectors"
    assert article.title == "外国专家：中美合作共赢符合国际社会利益"
    assert article.published_at == "2023-11-17"  # the meta gives a day: not its midnight
    assert article.section == "海外观察"
    assert article.body.startswith("在美国旧金山举行的中美元首会晤吸引了全世界的目光")
