"""Schemas of the account routes."""

from pydantic import BaseModel, Field

from app.accounts.models import UserPublic


class AccountPage(BaseModel):
    items: list[UserPublic]
    total: int


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=500)


class PasswordResetRedeem(BaseModel):
    token: str = Field(max_length=200)
    new_password: str = Field(max_length=500)


class ResetLink(BaseModel):
    url: str
    expires_in_hours: int


class NewToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
