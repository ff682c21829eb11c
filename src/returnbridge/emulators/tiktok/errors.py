"""The one error type the emulator raises for a documented API error."""

from __future__ import annotations


class ApiError(Exception):
    """A documented TikTok error: the envelope ``code``/``message`` and the HTTP status it travels with.

    Business errors come back with HTTP 200 and a non-zero code (contract §1.5); gateway errors use 4xx.
    """

    def __init__(self, code: int, message: str, http_status: int = 200) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
