"""Decoded HTML to article fields: selectolax for what selectors can find, trafilatura for
the body when they cannot, and a quality gate so that junk is recorded, never stored.

trafilatura is imported inside the functions that need it: `ipnews search` must not pay
for it (about 300 ms), and pages whose selectors succeed never touch it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ipnews.article import CJK, Article, clean_line
from ipnews.decoding import strip_control_chars
from ipnews.errors import ExtractError

MAX_HTML_CHARS = 5_000_000  # pages beyond this are not news articles; parsing them costs seconds
LINK_LIST_PROSE = 400  # characters of text that is no link's, below which link lines are a list
GENERIC_MIN_LATIN, GENERIC_MIN_CJK = 100, 40  # characters: the shortest real post or brief
# A body this large cannot decode to fewer than MAX_HTML_CHARS characters in any encoding a
# web page uses (UTF-8 and GB18030 spend at most 4 bytes on one, UTF-16 4 on a pair), so it
# is refused before decoding, whatever it holds (`ipnews extract /dev/zero`).
MAX_BODY_BYTES = 4 * MAX_HTML_CHARS

BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "center", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
SKIP_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas",
    "head", "select", "option", "button", "input", "textarea",
})


@dataclass(frozen=True)
class Block:
    """One line of visible text, the tag of the block it came from, and the element."""

    tag: str
    text: str
    node: LexborNode


def check_size(page: str | bytes) -> None:
    """Refuse a page too large to be an article, before any costly step runs on it."""
    limit, unit = (MAX_BODY_BYTES, "bytes") if isinstance(page, bytes) else (MAX_HTML_CHARS,
                                                                              "characters")
    if len(page) > limit:
        raise ExtractError(f"page too large to be an article ({len(page):,} {unit})",
                           kind="too_large")


def parse_html(html: str, cleaned: bool = False) -> LexborHTMLParser:
    """Parse a decoded page; cleaned=True when strip_control_chars already ran on it."""
    check_size(html)
    # lexbor takes time quadratic in nesting depth (100k nested <div>s: 23 s). A news page
    # has a few thousand tags, so only pages with very many are measured before parsing.
    if html.count("<") > 20_000 and nested_deeper_than(html, MAX_DEPTH):
        raise ExtractError(f"page nested deeper than {MAX_DEPTH} elements", kind="no_article")
    return LexborHTMLParser(html if cleaned else strip_control_chars(html))


MAX_DEPTH = 1_000
_TAG_START = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "param", "source", "track", "wbr", "p", "li", "option", "td", "tr", "th",
                   "dd", "dt"})  # void, or closed implicitly often enough not to count


def nested_deeper_than(html: str, limit: int) -> bool:
    """Whether elements nest more than limit deep, counted from the tags alone (a tag runs
    from "<name" to the first ">"), cheap enough to run before parsing.

    The tag's end is found with str.find, never by a regex: <(...)[^>]*?(/?)> rescans the
    rest of the page from every "<" that is not closed, and 240 KB of "<a " took 138 s.
    Here each character is read once, since no tag starts inside the one just read.
    """
    depth = 0
    resume = 0
    for m in _TAG_START.finditer(html):
        if m.start() < resume:  # inside the previous tag: an attribute, not a tag
            continue
        end = html.find(">", m.end())
        if end < 0:
            break  # no ">" left: no tag after this one can end either
        resume = end + 1
        closing, name = m.groups()
        if html[end - 1] == "/" or name.lower() in _VOID:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > limit:
                return True
    return False


HIDDEN_SELECTOR = ('[hidden], [aria-hidden="true"], [style*="display:none" i], '
                    '[style*="display: none" i], [style*="visibility:hidden" i], '
                    '[style*="visibility: hidden" i]')


def blocks(root: LexborNode | None, skip: str | None = None) -> list[Block]:
    """The visible text under root as a flat list of lines in document order.

    A line ends at every block element and at every <br>. Hidden elements, scripts and
    forms are skipped, and so is whatever matches the CSS selector ``skip``. Iterative on
    purpose: deep nesting must not overflow the stack.
    """
    if root is None:
        return []
    # Found once by lexbor's selector engine rather than by reading every element's
    # attributes in Python: the walk below is the hot loop of every extraction.
    excluded = {n.mem_id for n in root.css(HIDDEN_SELECTOR)}
    if skip:
        excluded.update(n.mem_id for n in root.css(skip))
    out: list[Block] = []
    buf: list[str] = []
    owner: list[tuple[str, LexborNode]] = [(root.tag or "", root)]

    def flush() -> None:
        if not buf:
            return
        raw = "".join(buf)
        buf.clear()
        if raw.isspace():  # most flushes: the white space between two tags
            return
        text = clean_line(raw)
        if text:
            tag, node = owner[-1]
            out.append(Block(tag, text, node))

    stack: list[Iterator[LexborNode] | None] = [root.iter(include_text=True)]
    while stack:
        it = stack[-1]
        if it is None:  # end of a block element
            stack.pop()
            flush()
            owner.pop()
            continue
        child = next(it, None)
        if child is None:
            stack.pop()
            continue
        tag = child.tag or ""
        if tag == "-text":
            buf.append(child.text_content or "")
        elif tag == "br":
            flush()
        elif tag in SKIP_TAGS or tag.startswith("-") or child.mem_id in excluded:
            continue
        elif tag in BLOCK_TAGS:
            flush()
            owner.append((tag, child))
            stack.append(None)
            stack.append(child.iter(include_text=True))
        else:
            stack.append(child.iter(include_text=True))
    flush()
    return out


def meta_tags(tree: LexborHTMLParser) -> dict[str, str]:
    """Every <meta> with content, by its name, property or itemprop (lower-cased; the first
    non-empty one wins). One pass: a CSS query per name would cost ten times more."""
    found: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        value = clean_line(attrs.get("content"))
        if not value:
            continue
        for attr in ("name", "property", "itemprop"):
            if key := attrs.get(attr):
                found.setdefault(key.lower(), value)
    return found


def meta(tags: dict[str, str], *names: str) -> str | None:
    """The first of names that the page's meta tags (from meta_tags) give."""
    return next((tags[n.lower()] for n in names if n.lower() in tags), None)


def text_of(tree: LexborHTMLParser | LexborNode, selector: str) -> str | None:
    node = tree.css_first(selector)
    return (clean_line(node.text(separator=" ")) or None) if node is not None else None


def html_language(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("html")
    lang = (node.attributes.get("lang") or "") if node is not None else ""
    return clean_line(lang).split("-")[0].lower() or None


def trafilatura_paragraphs(html: str, url: str | None = None, cleaned: bool = False,
                           recall: bool = False) -> list[str]:
    """The main text as trafilatura sees it, one paragraph per item (recall=True: its
    favor_recall mode). Always given a str that we decoded and cleaned: given bytes it
    would decompress them without any size limit."""
    import trafilatura

    text = trafilatura.extract(html if cleaned else strip_control_chars(html), url=url,
                               fast=False, favor_recall=recall,
                               include_comments=False, include_tables=True,
                               include_images=False, deduplicate=False)
    return [p for p in (text or "").split("\n") if p.strip()]


def generic_extract(html: str, url: str) -> Article:
    """Any page from any site: trafilatura's body (default mode) and our own metadata, read
    with selectolax from the tags publishers use (Open Graph, article:*, schema.org,
    <time>), then the boilerplate filter and the quality gate.

    trafilatura's own metadata pass (htmldate and friends) doubles its time per page and
    still misses what these tags give directly.
    """
    check_size(html)  # before strip_control_chars, which reads the whole page
    html = strip_control_chars(html)
    tree = parse_html(html, cleaned=True)
    metas = meta_tags(tree)
    paragraphs = [p for p in trafilatura_paragraphs(html, url, cleaned=True)
                  if not BOILERPLATE.match(p)]
    if too_little_text("\n\n".join(paragraphs), GENERIC_MIN_LATIN, GENERIC_MIN_CJK):
        # Default mode found next to nothing (a layout it misreads): before the page is
        # refused, trafilatura's recall mode has a look. Thin pages only: it costs a pass.
        paragraphs = [p for p in trafilatura_paragraphs(html, url, cleaned=True, recall=True)
                      if not BOILERPLATE.match(p)]
    link_texts = {t for a in tree.css("a") if len(t := clean_line(a.text())) >= 12}
    linked = sum(len(p) for p in paragraphs if p in link_texts)
    total = sum(len(p) for p in paragraphs)
    # Mostly links and little else: a list of headlines. A tutorial or a recipe that links
    # each step still has its own prose around the links, and is an article.
    if paragraphs and linked > 0.5 * total and total - linked < LINK_LIST_PROSE:
        raise ExtractError("looks like a list of links, not an article", kind="no_article")
    from ipnews.metadata import read_metadata

    found = read_metadata(tree, metas, url)
    if not found["title"]:
        # Every candidate looked like the site's name or logo: a page with no other title
        # is still an article, under the best of those.
        found["title"] = (meta(metas, "og:title", "twitter:title") or text_of(tree, "h1")
                          or _strip_site_name(text_of(tree, "title") or "")) or None
    paragraphs = _drop_tail([p for p in paragraphs if p != found["title"]])
    wire_source = found["wire_source"]
    if paragraphs and (m := SOURCE_LINE.match(paragraphs[-1])):
        # A closing "Source: Xinhua" credits the wire, it is not text.
        wire_source = wire_source or m.group(1)
        paragraphs.pop()
    article = Article(
        source="generic", url=url, title=found["title"] or "", body="\n\n".join(paragraphs),
        published_at=found["published"], authors=found["authors"], wire_source=wire_source,
        editor=found["editor"], section=found["section"], summary=found["summary"],
        tags=found["tags"], language=html_language(tree), extraction="trafilatura",
        # Where each field came from (json-ld, og, meta:pubdate, visible, url...).
        flags=[f"{field}:{route}" for field, route in found["sources"].items()],
    )
    # A blog post of two lines is still a post: on an unknown site the other tests (link
    # lists, error titles) say what is not an article, not the length alone.
    check_quality(article, min_latin=GENERIC_MIN_LATIN, min_cjk=GENERIC_MIN_CJK, links=link_texts)
    return article


# Lines that are site furniture on any news site, should trafilatura keep them.
BOILERPLATE = re.compile(
    r"^(back to top|share( this( article| story)?)?:?$|tags?:|older post|newer post|previous "
    r"post|next post|related (posts|articles|stories)|follow us|read more$|advertisement$|"
    r"copyright\b|©|\(c\) \d{4}|all rights reserved|沪ICP|京ICP|ICP备|沪公网安备|京公网安备|"
    r"互联网新闻信息服务许可证|have a question about|get a free consultation|special reports$|"
    r"explore shine$|about us\b|source:|editor:|"
    # Chinese sites' furniture: the previous/next links, print and close, the info line.
    r"(?:上一篇|下一篇|上一条|下一条)\s?[:：]|【?(?:打印本页|关闭窗口|打印|关闭|收藏)】?$|"
    r"(?:发布时间|发布日期)\s?[:：]|分享到|【?字号\s?[:：])", re.I)


# A heading that opens the page's furniture after the story (related stories, comments,
# "read more"), in the languages the generic path meets most: from there on, nothing is
# the story's. Only looked for in the second half of a body, on short lines.
RELATED_HEADING = re.compile(
    r"^(?:lesen sie (?:auch|mehr)|weitere (?:beiträge|artikel|nachrichten|themen|tipps|"
    r"tourentipps)|mehr zum thema|das (?:thema )?könnte (?:dich|sie) auch interessieren|"
    r"auch interessant|related (?:posts|articles|stories|content|reading)|read next|"
    r"more stories|you (?:may|might) (?:also )?like|recommended (?:for you|articles|stories)|"
    r"(?:\d+ |no |keine )?(?:comments|kommentare)|leave a (?:reply|comment)|lust auf mehr|"
    r"czytaj (?:więcej|także)|zobacz (?:też|także)|à lire aussi|sur le même sujet|"
    r"te puede interesar|noticias relacionadas|leggi anche|articoli correlati|"
    r"相关(?:新闻|阅读|文章|链接|报道)|延伸阅读|推荐阅读)\b[^.!?]{0,40}[:?]?$", re.I)
# A line that points at another story or asks for a subscription, anywhere in the body.
TEASER_LINE = re.compile(
    r"^(?:read (?:more|also)|related|see more|czytaj (?:też|także)|lesen sie auch|lire aussi|"
    r"leer (?:más|también)|leggi anche|subscribe (?:now|to)|share (?:this|on))\b\s?[:：]?\s",
    re.I)


def _drop_tail(paragraphs: list[str]) -> list[str]:
    """The story without what follows it on the page (related stories, comments) and
    without teaser lines for other stories."""
    for i in range(max(1, len(paragraphs) // 2), len(paragraphs)):
        if len(paragraphs[i]) < 90 and RELATED_HEADING.match(paragraphs[i]):
            paragraphs = paragraphs[:i]
            break
    return [p for p in paragraphs if not (len(p) < 200 and TEASER_LINE.match(p))]


# A line that is only a credit: the wire or the editor, bracketed or not ("来源：中国知识产权报",
# "（责任编辑：赵敏）", "(责编：牛镛、岳弘彬)", "Editor: Li Hua"). Metadata, not text.
CREDIT_LABEL = re.compile(
    r"^[（(【\[]?\s?(?:来源|稿源|责任编辑|责编|编辑|source|editors?)\s?[:：]\s?", re.I)
CREDIT_ONLY = re.compile(CREDIT_LABEL.pattern + r"([^\n]{1,60}?)\s?[)）】\]]?$", re.I)
_EDITOR_LABEL = re.compile(r"^[（(【\[]?\s?(?:责任编辑|责编|编辑|editor)", re.I)


def split_credits(paragraphs: list[str]) -> tuple[list[str], str | None, str | None]:
    """The body without the credit lines at its start or end, and the wire source and
    editor they name. Only short whole lines near the edges: a sentence that mentions its
    source is text."""
    wire = editor = None
    out = list(paragraphs)
    for index in (*range(min(2, len(out))), *range(max(0, len(out) - 4), len(out))):
        line = out[index]
        if len(line) > 70 or not (m := CREDIT_ONLY.match(line)):
            continue
        if _EDITOR_LABEL.match(line):
            editor = editor or m.group(1).strip()
        else:
            wire = wire or m.group(1).strip()
        out[index] = ""
    return [p for p in out if p], wire, editor


# File links in a story: a CNIPA announcement's PDFs, a court's judgment, a form to fill.
_FILE_PATH = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|zip|rar|7z|wps|ofd|et|ceb|txt)$", re.I)
_FILE_ENDPOINT = re.compile(
    r"/(?:downfile|download|attachment|getfile)[a-z_]*\.(?:jsp|do|aspx?|php)$", re.I)
ATTACHMENT_LABEL = re.compile(
    r"^(?:附件|相关附件|附件下载|attachments?|downloads?)\s?[:：]?$", re.I)


def attachments(roots: list[LexborNode], page_url: str) -> list[dict[str, str]]:
    """Links to files under roots, as {"title", "url"} in page order."""
    from urllib.parse import urljoin, urlsplit

    found: list[dict[str, str]] = []
    for root in roots:
        for link in root.css("a[href]"):
            href = (link.attributes.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "mailto:", "#")):
                continue
            try:
                url = urljoin(page_url, href)
                parts = urlsplit(url)
            except ValueError:
                continue
            if parts.scheme not in ("http", "https"):
                continue
            if _FILE_PATH.search(parts.path) or _FILE_ENDPOINT.search(parts.path):
                title = clean_line(link.text()) or clean_line(link.attributes.get("title"))
                found.append({"title": title or url, "url": url})
    return found


def without_attachment_lines(paragraphs: list[str], files: list[dict[str, str]]) -> list[str]:
    """The body without the lines that are only a file's link (or the "附件：" label)."""
    if not files:
        return paragraphs
    titles = {f["title"] for f in files}
    return [p for p in paragraphs if p not in titles and _ATTACHMENT_NUMBER.sub("", p) not in titles
            and not ATTACHMENT_LABEL.match(p)]


_ATTACHMENT_NUMBER = re.compile(r"^附件\s?\d{0,2}\s?[:：.、]?\s?")


# The credit starts at a non-space: with (.{2,60}) the \s* before it would give back its
# spaces one at a time, each retried against up to 60 characters.
SOURCE_LINE = re.compile(r"^Source\s*[:：]\s*(\S.{1,59})$", re.I)
# (?<!\s): a separator is tried only where a run of spaces starts, not at each of its spaces.
_TITLE_SEPARATOR = re.compile(r"(?<!\s)\s+[-|–—]\s+")


def _strip_site_name(title: str) -> str:
    parts = _TITLE_SEPARATOR.split(title)
    return max(parts, key=len) if len(parts) > 1 else title


_NOT_FOUND = re.compile(
    r"^(404|page not found|not found|error|access denied|sign in|log ?in|"
    r"页面不存在|找不到页面|请开启javascript|請開啟javascript|登录)\b", re.I)


def too_little_text(body: str, min_latin: int, min_cjk: int) -> bool:
    """Shorter than the shortest article: min_latin Latin characters or min_cjk Chinese
    ones, a bilingual brief judged by both halves together (a Chinese character says
    about as much as two or three Latin ones)."""
    cjk = len(CJK.findall(body))
    return (len(body) - cjk) / min_latin + cjk / min_cjk < 1


def check_quality(article: Article, min_latin: int = 200, min_cjk: int = 80,
                  links: set[str] | None = None) -> None:
    """Refuse what is not an article: login walls, JS shells, soft 404s, listing pages.

    trafilatura returns *something* for nearly every page ('Login\\na', a list of
    headlines), so the gate, not the extractor, decides what may enter the archive.
    """
    if not article.title:
        raise ExtractError("no headline found", kind="no_article")
    body = article.body
    # "Error-ridden filings..." is a headline; "Error" over three lines of text is not.
    if _NOT_FOUND.search(article.title) and len(body) < 600:
        raise ExtractError(f"looks like an error or login page: {article.title[:60]!r}",
                           kind="no_article")
    if too_little_text(body, min_latin, min_cjk):
        raise ExtractError(f"too little text for an article ({len(body)} characters)",
                           kind="no_article")
    paragraphs = body.split("\n\n")
    # Given the page's link texts, only short lines that are links count: the short lines
    # of code, of ingredients or of a table are text.
    short = sum(1 for p in paragraphs if len(p) < 60 and not CJK.search(p)
                and (links is None or p in links))
    prose = sum(1 for p in paragraphs if len(p) >= 150)
    # Short lines alone are a list of headlines; short lines with some prose around them
    # (ingredients, steps, a table) are an article whose paragraphs happen to be short.
    if len(paragraphs) >= 8 and short / len(paragraphs) > 0.8 and prose < 2:
        raise ExtractError("looks like a list of links, not an article", kind="no_article")
