"""Fixtures shared by the check-in tests: a write session, a roster, the CLI's database."""

from tests.checkin.cli_support import cli_db  # noqa: F401 - the CLI tests' database
from tests.checkin.support import roster, wdb  # noqa: F401 - fixtures for every module here
