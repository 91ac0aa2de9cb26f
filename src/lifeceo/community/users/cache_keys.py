"""Names of what the users package caches, for the readers and the writers alike."""

# Invalidated by every write that changes them; the TTL only bounds what an unnoticed change
# (a row edited outside the application) can cost, as the feeds' 300 s did before.
PROFILE_TTL_SECONDS = 300
BYLINE_TTL_SECONDS = 300
FOLLOWING_TTL_SECONDS = 300
# Logout and every change to the user drop it at once; the TTL bounds a change made outside the
# application (`lifeceo create-admin`), so it is short.
IDENTITY_TTL_SECONDS = 60


def profile_key(username: str) -> str:
    """A PublicUser and the user's id. Usernames never change, so writers name it directly."""
    return f"user:{username.lower()}"


def byline_key(user_id: int) -> str:
    """How a user's name appears on posts and events: username and display name."""
    return f"byline:{user_id}"


def user_tag(user_id: int) -> str:
    return f"user:{user_id}"


def following_key(user_id: int) -> str:
    """The ids of those the user follows, sorted."""
    return f"following:{user_id}"


def home_tag(user_id: int) -> str:
    """Everything that depends on whom the user follows: that list and their home pages."""
    return f"home:{user_id}"


def identity_key(token_digest: bytes) -> str:
    """Who a session token (by its SHA-256, as stored) belongs to: a read's authentication."""
    return f"auth:{token_digest.hex()}"


def session_tag(session_id: int) -> str:
    return f"session:{session_id}"
