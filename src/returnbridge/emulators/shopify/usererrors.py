"""``userErrors`` entries and the GID checks every mutation starts with."""

from __future__ import annotations

from dataclasses import dataclass

from .gids import parse_gid
from .typesystem import FieldError


@dataclass
class UserError:
    """``field`` is a path of strings (list indexes as strings, A.9); ``code`` is None on plain ``UserError``."""

    field: list[str] | None
    message: str
    code: str | None = None


def path(*parts: object) -> list[str]:
    return [str(p) for p in parts]


def require_gid(value: object, type_name: str) -> int:
    """The number of a GID of ``type_name``; any other GID is a top-level ``RESOURCE_NOT_FOUND`` (A.9)."""
    parsed = parse_gid(value)
    if parsed is None or parsed[0] != type_name:
        raise FieldError(f"Invalid id: {value}", "RESOURCE_NOT_FOUND")
    return parsed[1]
