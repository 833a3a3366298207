"""Fixtures of the hub tests; the shared values and helpers live in hub_support.py."""

from hub_support import *  # noqa: F401,F403 - pytest finds fixtures by name
from hub_support import _hub_home  # noqa: E402,F401
