"""Fixtures of the fault tests."""

from tests.app.faults.serving import private_pg  # noqa: F401 - the private PostgreSQL server
