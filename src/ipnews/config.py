"""Settings from the config file, the environment and the defaults, validated up front.

Where things are (first found wins):
  config file: --config PATH, $IPNEWS_CONFIG, <user config dir>/ipnews/config.toml
  database:    --db PATH, $IPNEWS_DB, [archive] db in the config, <user data dir>/ipnews/ipnews.db
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipnews.errors import UsageError


def parse_toml(text: str) -> dict[str, Any]:
    """TOML text as a dict; ValueError if it is not valid TOML. The parser is imported
    here, not at start: most runs have no config file, and `ipnews search` starts faster."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib.loads(text)  # TOMLDecodeError is a ValueError


FETCH_KEYS = {"delay": float, "timeout": float, "deadline": float, "max_bytes": int,
              "attempts": int, "backoff": float, "max_retry_after": float, "obey_robots": bool,
              "user_agent": str, "max_pages": int, "keep_raw": bool, "ca_bundle": str,
              "breaker": int, "time_budget": float, "extract_timeout": float,
              "allowed_ports": list, "stale_after": float, "hosts_at_once": int}
# Zero would make every request or page fail; delay, backoff and breaker may be 0.
POSITIVE = {"timeout", "deadline", "max_bytes", "attempts", "max_pages", "extract_timeout",
            "time_budget", "max_retry_after", "hosts_at_once"}
# Upper bounds where a larger value is a mistake that would hang or crash a run (a delay
# of 1e11 s overflowed the sleep; a day between two requests is already absurd).
MAXIMUM = {"delay": 86_400, "timeout": 86_400, "deadline": 86_400, "backoff": 86_400,
           "max_retry_after": 86_400, "extract_timeout": 86_400, "time_budget": 10**7,
           "attempts": 100, "stale_after": 36_500, "hosts_at_once": 64}
MAX_CONFIG_BYTES = 1 << 20  # a config file is a few hundred bytes; refuse to parse a megabyte


def _xdg(variable: str, default: str) -> Path:
    """The XDG base directory platformdirs gives on Linux, without importing it: every
    command looks for its config file, and the import cost `ipnews search` 8 ms."""
    value = os.environ.get(variable, "").strip()
    return Path(os.path.expanduser(value or default)) / "ipnews"


def default_config_path() -> Path:
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CONFIG_HOME", "~/.config") / "config.toml"
    from platformdirs import user_config_dir

    return Path(user_config_dir("ipnews", appauthor=False)) / "config.toml"


def default_db_path() -> Path:
    if sys.platform.startswith("linux"):
        return _xdg("XDG_DATA_HOME", "~/.local/share") / "ipnews.db"
    from platformdirs import user_data_dir

    return Path(user_data_dir("ipnews", appauthor=False)) / "ipnews.db"


@dataclass
class Config:
    path: Path | None = None
    db: Path | None = None
    fetch: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)  # as written; see glossary_groups

    def glossary_groups(self) -> tuple[tuple[str, ...], ...]:
        """[search] glossary: groups of terms that mean the same, each a list of at least
        two strings. Checked by the command that uses it (search), so that a mistake in
        it is a usage error there and breaks no other command."""
        value = self.search.get("glossary", [])
        where = f"{self.path}: search.glossary"
        if not isinstance(value, list) or len(value) > 1000:
            raise UsageError(f"{where} must be a list (at most 1,000) of lists of terms")
        groups = []
        for group in value:
            if not (isinstance(group, list) and len(group) >= 2 and all(
                    isinstance(t, str) and t.strip() and len(t) <= 100 for t in group)):
                raise UsageError(f"{where}: each entry is a list of two or more terms, like "
                                 '["brand protection", "品牌保护"]')
            groups.append(tuple(t.strip() for t in group))
        return tuple(groups)


def load_config(path: str | os.PathLike[str] | None = None, strict: bool = True) -> Config:
    """Read and validate the config file; a missing default file is simply no config.
    strict=False (commands that only read the archive) takes [archive] db and ignores the
    rest, so a config written for a newer ipnews cannot break a nightly backup."""
    explicit = path or os.environ.get("IPNEWS_CONFIG")
    cfg_path = Path(explicit).expanduser() if explicit else default_config_path()
    if not cfg_path.exists():
        if explicit:
            raise UsageError(f"config file not found: {cfg_path}")
        return Config()
    try:
        with open(cfg_path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise UsageError(f"config file too large: {cfg_path} (over 1 MiB)")
        data = parse_toml(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and TOMLDecodeError too
        raise UsageError(f"cannot read config {cfg_path}: {exc}") from exc
    except RecursionError:
        # tomllib recurses once per nesting level: 5,000 nested arrays exhaust the stack.
        raise UsageError(f"cannot read config {cfg_path}: nested too deeply") from None
    config = Config(path=cfg_path)
    if not strict:
        db = data.get("archive", {}).get("db") if isinstance(data.get("archive"), dict) else None
        config.db = Path(db).expanduser() if isinstance(db, str) else None
        # Only the names of the sources it declares, for `--source NAME` on readers.
        if isinstance(data.get("sources"), dict):
            config.sources = {str(name): {} for name in data["sources"]}
        if isinstance(data.get("search"), dict):
            config.search = data["search"]
        return config
    unknown = set(data) - {"archive", "fetch", "sources", "search"}
    if unknown:
        raise UsageError(f"{cfg_path}: unknown section [{sorted(unknown)[0]}]")
    for section in ("archive", "fetch", "sources", "search"):
        if not isinstance(data.get(section, {}), dict):
            raise UsageError(f"{cfg_path}: [{section}] must be a table")
    config.search = data.get("search", {})
    if set(config.search) - {"glossary"}:
        raise UsageError(f"{cfg_path}: unknown key search."
                         f"{sorted(set(config.search) - {'glossary'})[0]}")
    config.glossary_groups()
    archive = data.get("archive", {})
    if "db" in archive and not isinstance(archive["db"], str):
        raise UsageError(f"{cfg_path}: archive.db must be a string")
    if set(archive) - {"db"}:
        raise UsageError(f"{cfg_path}: unknown key archive.{sorted(set(archive) - {'db'})[0]}")
    if "db" in archive:
        config.db = Path(str(archive["db"])).expanduser()
    for key, value in data.get("fetch", {}).items():
        kind = FETCH_KEYS.get(key)
        if kind is None:
            raise UsageError(f"{cfg_path}: unknown key fetch.{key}")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise UsageError(f"{cfg_path}: fetch.{key} must be a {kind.__name__}")
        if kind in (int, float) and not (math.isfinite(value) and 0 <= value < 10**12):
            raise UsageError(f"{cfg_path}: fetch.{key} must be a finite number, not negative")
        if key == "user_agent" and not (value.isascii() and value.isprintable()):
            raise UsageError(f"{cfg_path}: fetch.user_agent must be printable ASCII")
        if key in POSITIVE and value <= 0:
            raise UsageError(f"{cfg_path}: fetch.{key} must be more than 0")
        if key in MAXIMUM and value > MAXIMUM[key]:
            raise UsageError(f"{cfg_path}: fetch.{key} must be at most {MAXIMUM[key]:,}")
        if kind is list:
            if not all(isinstance(v, int) and 0 < v < 65536 for v in value):
                raise UsageError(f"{cfg_path}: fetch.{key} must be a list of port numbers")
            value = frozenset(value)
        config.fetch[key] = value
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise UsageError(f"{cfg_path}: [sources] must be a table")
    for name, table in sources.items():
        if not isinstance(table, dict):
            raise UsageError(f"{cfg_path}: [sources.{name}] must be a table")
        if not isinstance(table.get("enabled", True), bool):
            raise UsageError(f"{cfg_path}: sources.{name}.enabled must be true or false")
        if not isinstance(table.get("base_url", ""), str):
            raise UsageError(f"{cfg_path}: sources.{name}.base_url must be a string")
        delay = table.get("delay", 0.0)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not (
                math.isfinite(delay) and 0 <= delay <= MAXIMUM["delay"]):
            raise UsageError(f"{cfg_path}: sources.{name}.delay must be a number of seconds "
                             f"from 0 to {MAXIMUM['delay']:,}")
        config.sources[name] = dict(table)
    return config


def resolve_db(option: str | None, config: Config) -> Path:
    """The archive's real path: symlinks resolved, so that the lock and the files beside
    the archive belong to the file itself, whatever name it was reached by."""
    if option:
        path = Path(option).expanduser()
    elif env := os.environ.get("IPNEWS_DB"):
        path = Path(env).expanduser()
    else:
        path = config.db or default_db_path()
    check_db_name(str(path))
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError) as exc:
        raise UsageError(f"unusable database path {str(path)!r}: {exc}") from exc


def check_db_name(name: str) -> None:
    """Only a real file path names an archive: SQLite would take ":memory:" or a
    "file:...?mode=memory" URI for a database that vanishes when the run ends."""
    shown = repr(name)[1:-1]
    if not name.strip() or name == ":memory:" or name.lower().startswith("file:"):
        raise UsageError(f"database path {shown!r} is not a file path (give the path of a "
                         "file, e.g. ~/ipnews.db)")
    if "\x00" in name:
        raise UsageError(f"database path {shown!r} contains a NUL character")
    try:
        encoded = os.fsencode(name)
        encoded.decode("utf-8")
    except UnicodeError:
        raise UsageError(f"database path {shown!r} is not valid UTF-8 (SQLite needs a "
                         "UTF-8 file name)") from None
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > 255:
        raise UsageError(f"database path has a name of {longest} bytes (at most 255): "
                         f"{shown[:80]}...")
