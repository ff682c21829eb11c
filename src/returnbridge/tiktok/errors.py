"""Typed TikTok Shop API errors, chosen by the envelope ``code`` (contract §1.5–§1.7), not HTTP status."""

from __future__ import annotations

from typing import ClassVar

# Code used when there was no envelope to read a code from (non-JSON body, or the connection failed).
NO_ENVELOPE = -1


class TikTokError(Exception):
    """An error answer from TikTok (or no usable answer at all).

    ``retryable`` says whether repeating the identical request may succeed; the client only acts on it for
    reads and for writes that carry an idempotency key.
    """

    retryable_by_default: ClassVar[bool] = False

    def __init__(self, code: int, message: str, request_id: str | None = None, http_status: int = 200) -> None:
        suffix = f" (request_id {request_id})" if request_id else ""
        super().__init__(f"TikTok error {code}: {message}{suffix}")
        self.retryable: bool = self.retryable_by_default
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status


class InvalidRequest(TikTokError):
    """The request itself is wrong (parameters, content type, path or method); repeating it will not help."""


class InvalidCredentials(InvalidRequest):
    """app_key, token, timestamp, shop or IP not accepted; usually needs a human (re-authorise, config)."""


class TokenExpired(InvalidCredentials):
    """105002: the access token expired; refresh it and repeat the call once."""


class InvalidSignature(InvalidCredentials):
    """106001: the ``sign`` did not match what TikTok computed over the received request."""


class ScopeNotGranted(InvalidCredentials):
    """105005: the app or the seller's token lacks the scope this endpoint needs."""


class InvalidAuthCode(InvalidCredentials):
    """36004004: the OAuth auth_code is unknown, expired (30 min) or already used (single-use)."""


class NotFound(TikTokError):
    """The path (36009009) or the order (25007006) does not exist."""


class TransientError(TikTokError):
    """A temporary failure on TikTok's side or on the way there; the same request may succeed later."""

    retryable_by_default: ClassVar[bool] = True


class ConnectionFailed(TransientError):
    """No HTTP answer at all (connect error, timeout, reset); whether a write landed is unknown."""

    def __init__(self, message: str) -> None:
        super().__init__(NO_ENVELOPE, message, None, 0)


# Codes that mean "the request already reached, or moved past, the state you asked for" (a replay or a
# concurrent decision). The caller reads the state back and resolves instead of treating this as a failure.
ALREADY_IN_THAT_STATE_CODES = frozenset({25011012, 25011013, 25020009, 25020010, 25020011})

# Hourly quota of test shops: backing off for seconds cannot help, so it is not retried.
HOURLY_QUOTA_CODE = 36009037


class RateLimited(TikTokError):
    """36009002 (HTTP 429) or 36009037 (test-shop hourly quota); ``retry_after`` is the server's hint (s)."""

    def __init__(
        self,
        code: int,
        message: str,
        request_id: str | None = None,
        http_status: int = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, message, request_id, http_status)
        self.retry_after = retry_after
        self.retryable = code != HOURLY_QUOTA_CODE


class BusinessError(TikTokError):
    """A return/refund business rule refused the request (25xxxxxx, 11050001)."""

    @property
    def already_in_that_state(self) -> bool:
        return self.code in ALREADY_IN_THAT_STATE_CODES


_BY_CODE: dict[int, type[TikTokError]] = {
    105002: TokenExpired,
    106001: InvalidSignature,
    105005: ScopeNotGranted,
    36004004: InvalidAuthCode,
    36009002: RateLimited,
    36009037: RateLimited,
    36009004: InvalidCredentials,
    101000: InvalidCredentials,
    36009033: InvalidCredentials,
    36009043: InvalidCredentials,
    36009044: InvalidCredentials,
    106013: InvalidRequest,
    36009010: InvalidRequest,
    36009014: InvalidRequest,
    36009021: InvalidRequest,
    36009022: InvalidRequest,
    36009023: InvalidRequest,
    36009003: TransientError,
    36009007: TransientError,
    25001028: TransientError,
    25001058: TransientError,
    25007002: TransientError,
    36009009: NotFound,
    25007006: NotFound,
    11050001: BusinessError,
}


def error_class_for(code: int) -> type[TikTokError]:
    """The class for ``code``: the registry first, then the code family, so unknown codes land sensibly."""
    known = _BY_CODE.get(code)
    if known is not None:
        return known
    digits = str(code)
    if digits.startswith("105"):  # token/credential family (ECOM groups 105… as token errors)
        return InvalidCredentials
    if digits.startswith(("106", "360")):  # gateway validation families
        return InvalidRequest
    if len(digits) == 8 and digits.startswith(("25", "11", "10", "21")):  # business modules
        return BusinessError
    return TikTokError


def error_for(
    code: int,
    message: str,
    request_id: str | None = None,
    http_status: int = 200,
    retry_after: float | None = None,
) -> TikTokError:
    """Build the typed exception for an envelope with a non-zero ``code``."""
    cls = error_class_for(code)
    if cls is RateLimited:
        return RateLimited(code, message, request_id, http_status, retry_after)
    return cls(code, message, request_id, http_status)


def error_without_envelope(http_status: int, detail: str, retry_after: float | None = None) -> TikTokError:
    """The exception for an answer that carries no envelope: 5xx is transient, 429 is a rate limit."""
    if http_status == 429:
        return RateLimited(NO_ENVELOPE, detail, None, http_status, retry_after)
    if http_status >= 500:
        return TransientError(NO_ENVELOPE, detail, None, http_status)
    return TikTokError(NO_ENVELOPE, detail, None, http_status)
