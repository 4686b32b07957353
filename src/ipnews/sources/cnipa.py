"""CNIPA, the China National Intellectual Property Administration (www.cnipa.gov.cn), in
Chinese: its news, media, policy-interpretation, announcement and notice columns, every
item kept. The site runs the JCMS government CMS (see jcms.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from ipnews.sources import register
from ipnews.sources.jcms import JcmsSource


@register
class Cnipa(JcmsSource):
    name = "cnipa"
    title = "CNIPA (国家知识产权局)"
    home = "https://www.cnipa.gov.cn"
    hosts = frozenset({"www.cnipa.gov.cn", "cnipa.gov.cn"})
    language = "zh"
    # 53 工作动态 (news), 55 媒体视点 (media), 66 政策解读 (policy interpretation),
    # 74 公告 (announcements), 75 通知 (notices): the columns seen with articles in 2026.
    options: ClassVar[dict[str, Any]] = {"columns": ["53", "55", "66", "74", "75"]}
