"""The registry of sources. A new built-in source is one module here, added to _MODULES;
a user's source is a [sources.NAME] table of the config file (see declared.py)."""

from __future__ import annotations

import importlib
from typing import Any

from ipnews.errors import UsageError
from ipnews.sources.base import Source

_MODULES = tuple(f"ipnews.sources.{m}" for m in (
    "chinadaily", "chinaiplaw", "cnipa", "cnipa_en", "ctplo", "globaltimes", "ipcourt",
    "people_ip", "shine", "xinhua"))
_REGISTRY: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator; a second source with the same name is a programming error."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"two sources are named {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def source_names() -> list[str]:
    """The names, without importing the parsers (a source's module is named after it,
    with "_" for the name's "-": cnipa_en.py is cnipa-en)."""
    return sorted(m.rsplit(".", 1)[1].replace("_", "-") for m in _MODULES)


def registry() -> dict[str, type[Source]]:
    for module in _MODULES:
        importlib.import_module(module)
    assert sorted(_REGISTRY) == source_names(), "a source module must be named after it"
    return dict(sorted(_REGISTRY.items()))


def get_source_class(name: str) -> type[Source]:
    sources = registry()
    if name not in sources:
        raise UsageError(f"unknown source {name!r} (known: {', '.join(sources)})")
    return sources[name]


def source_class(name: str, settings: dict[str, Any]) -> type[Source]:
    """The class of a source by its name and settings: a built-in one, or one declared in
    the config file, whose declaration travels in its settings (to the extractor process,
    which has no config)."""
    if name in source_names():
        return get_source_class(name)
    declaration = settings.get("declaration")
    if not isinstance(declaration, dict):
        raise UsageError(f"unknown source {name!r} (known: {', '.join(source_names())})")
    key = (name, repr(sorted(declaration.items())))
    if key not in _DECLARED:
        from ipnews.sources.declared import declared_class

        _DECLARED[key] = declared_class(name, declaration)
    return _DECLARED[key]


_DECLARED: dict[tuple[str, str], type[Source]] = {}
