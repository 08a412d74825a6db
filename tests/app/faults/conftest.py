"""Fixtures of the fault tests."""

# The private PostgreSQL server, and a fresh database on the machine's one.
from tests.app.faults.serving import fresh_pg, private_pg  # noqa: F401
