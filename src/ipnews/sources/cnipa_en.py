"""CNIPA's English site (english.cnipa.gov.cn): its news column, every item kept. The
same JCMS government CMS as the Chinese site (see jcms.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from ipnews.sources import register
from ipnews.sources.jcms import JcmsSource


@register
class CnipaEn(JcmsSource):
    name = "cnipa-en"
    title = "CNIPA (English)"
    home = "https://english.cnipa.gov.cn"
    hosts = frozenset({"english.cnipa.gov.cn"})
    language = "en"
    # News articles are art_3090_*: column 3090 (a guess from the article URLs).
    options: ClassVar[dict[str, Any]] = {"columns": ["3090"]}
