"""Typed access to the check-in objects the roof (app.main) makes at start-up."""

from starlette.requests import HTTPConnection

from checkin.dashboards import Dashboards


def dashboards_of(connection: HTTPConnection) -> Dashboards:
    """The dashboard coalescers of this process."""
    dashboards: Dashboards = connection.app.state.dashboards
    return dashboards
