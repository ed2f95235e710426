"""Domain errors. The API maps them to HTTP answers in one place (functions/api/app.py)."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # Machine-readable extras for the client (e.g. a refused return's `reason`, `last_day`).
        self.details = {name: value for name, value in details.items() if value is not None}

    def as_body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        error.update(self.details)
        return {"error": error}

    def headers(self) -> dict[str, str]:
        """Extra HTTP headers of the answer (e.g. Retry-After)."""
        return {}


class InvalidInput(DomainError):
    status = 400
    code = "validation_error"


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class InvalidSignature(DomainError):
    status = 401
    code = "invalid_signature"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class NotAllowed(DomainError):
    status = 422
    code = "not_allowed"


class ServiceUnavailable(DomainError):
    """Stored, but a follow-up could not be queued: the client retries with the same key."""

    status = 503
    code = "retry"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"


class RateLimited(DomainError):
    """Over a rate limit (security/rate_limit.py): the answer names the limit and when to retry."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, limit: str, retry_after_seconds: int, **details: object) -> None:
        super().__init__(message, limit=limit, retry_after_seconds=retry_after_seconds, **details)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class RetryLater(Exception):
    """A transient condition (throttling, an event that arrived before what it refers to).

    Consumers let it propagate so the message is retried, and ends in the DLQ if it never
    succeeds. `retry_after` (seconds) is the wait the other side asked for (a carrier's
    Retry-After), when it said one; whoever reschedules the work must not come back sooner.
    """

    def __init__(self, *args: object, retry_after: float | None = None) -> None:
        super().__init__(*args)
        self.retry_after = retry_after


class MailerUnavailable(Exception):
    """The mailer could not send now, and certainly did not send (throttled, misconfigured)."""


class MessageRefused(Exception):
    """The mailer refused this message for good (rejected content or recipient)."""
