"""Errors the product reports to a person (CLI message, HTTP 4xx) rather than as a traceback."""

from __future__ import annotations


class UserFacingError(Exception):
    """Something the operator can fix; shown as a one-line message, never as a traceback."""
