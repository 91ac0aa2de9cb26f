"""Request and response bodies of users and authentication."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from lifeceo.community.fields import PartialUpdate, Text

USERNAME_PATTERN = r"^[A-Za-z0-9_]{3,30}$"
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN, to_lower=True)]
# In a path: anything else (a NUL byte, a megabyte) is a 422 before any SQL.
UsernamePath = Annotated[str, Path(pattern=USERNAME_PATTERN)]
# Long enough to resist guessing, short enough that argon2 is not a denial-of-service vector.
Password = Annotated[str, Field(min_length=10, max_length=256)]
TangoRole = Literal["leader", "follower", "teacher", "dj", "organizer"]
Group = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    email: Annotated[EmailStr, Field(max_length=254)]
    password: Password


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Text(min_length=1, max_length=254)
    password: Text(min_length=1, max_length=256)


class ProfileUpdate(PartialUpdate):
    display_name: Text(strip=True, max_length=80) | None = None
    bio: Text(max_length=1000) | None = None
    city: Text(strip=True, max_length=100) | None = None
    roles: Annotated[list[TangoRole], Field(max_length=5)] | None = None


class AdminUpdate(PartialUpdate):
    groups: Annotated[list[Group], Field(max_length=20)] | None = None
    is_admin: bool | None = None


class Byline(BaseModel):
    """How a user is named on what they wrote or organise."""

    model_config = ConfigDict(from_attributes=True)
    username: str
    display_name: str


class PublicUser(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    username: str
    display_name: str
    bio: str
    city: str
    roles: list[str]
    followers_count: int
    following_count: int
    created_at: datetime


class Me(PublicUser):
    email: str
    groups: list[str]
    is_admin: bool


class LoginResult(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    csrf_token: str
    user: Me


class FollowState(BaseModel):
    following: bool
    followers_count: int
