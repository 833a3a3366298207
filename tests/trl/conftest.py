"""Fixtures of the trl tests; the shared values and helpers live in trl_support.py."""

from trl_support import *  # noqa: F401,F403 - pytest finds fixtures by name
