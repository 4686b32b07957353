"""Loaded by every Python process the tests start (PYTHONPATH points here): no test, and
no ipnews process a test starts, may resolve a name or open a connection beyond loopback."""

import sys

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from netguard import install

install()
