"""Domain errors carry their HTTP status; they are turned into problem+json in one place."""

# The protection space of every credential the API accepts (RFC 9110 11.5).
AUTH_REALM = "lifeceo"


class LifeceoError(Exception):
    status = 500
    title = "Internal Server Error"
    # Response headers the status calls for (a 401's challenge).
    headers: dict[str, str] | None = None

    def __init__(self, detail: str | None = None, **extensions: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions


class BadRequest(LifeceoError):
    status = 400
    title = "Bad Request"


class Unauthorized(LifeceoError):
    """A 401 names the scheme to authenticate with (RFC 9110 11.6.1 requires the challenge);
    `invalid_token` says a Bearer token was presented but is unknown, expired or revoked
    (RFC 6750 3.1), so a client knows to log in again rather than retry."""

    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str | None = None, *, invalid_token: bool = False,
                 **extensions: object) -> None:
        super().__init__(detail, **extensions)
        challenge = f'Bearer realm="{AUTH_REALM}"'
        if invalid_token:
            challenge += ', error="invalid_token"'
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(LifeceoError):
    status = 403
    title = "Forbidden"


class NotFound(LifeceoError):
    status = 404
    title = "Not Found"


class Conflict(LifeceoError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(LifeceoError):
    status = 413
    title = "Content Too Large"


class UnsupportedMediaType(LifeceoError):
    status = 415
    title = "Unsupported Media Type"


class Unprocessable(LifeceoError):
    status = 422
    title = "Unprocessable Content"


class TooManyRequests(LifeceoError):
    status = 429
    title = "Too Many Requests"
