"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from endpoints.models import Conference, Invite, Site, User

__all__ = ["Conference", "Invite", "Site", "User"]
