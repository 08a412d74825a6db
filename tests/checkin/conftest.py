"""Fixtures shared by the check-in tests: a write session (`wdb`) and a small roster."""

from tests.checkin.support import roster, wdb  # noqa: F401 - fixtures for every module here
