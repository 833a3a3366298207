"""Fixtures from podsmith's testing kit: a temporary state directory (`podsmith_home`) and fakes."""

from podsmith_core.testing.fixtures import fake_provider, podsmith_home  # noqa: F401
