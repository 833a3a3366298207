"""Fixtures of the openr1 tests; the shared values and helpers live in openr1_support.py."""

from openr1_support import *  # noqa: F401,F403 - pytest finds fixtures by name
