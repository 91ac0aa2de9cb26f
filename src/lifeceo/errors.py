"""Domain errors carry their HTTP status; they are turned into problem+json in one place."""


class LifeceoError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str | None = None, **extensions: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions


class BadRequest(LifeceoError):
    status = 400
    title = "Bad Request"


class Unauthorized(LifeceoError):
    status = 401
    title = "Unauthorized"


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
