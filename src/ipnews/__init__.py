"""ipnews: a local, searchable archive of intellectual-property news about China."""

__version__ = "0.1.0"
