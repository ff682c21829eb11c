"""Who may do what in the back-office: three roles, each one able to do everything the one below it can."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    VIEWER = "viewer"  # reads cases, connections and settings; changes nothing but their own password
    AGENT = "agent"  # also decides cases (approve, reject, partial refunds)
    ADMIN = "admin"  # everything: users, connections, settings

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, minimum: Role) -> bool:
        """Whether a user with this role may do what ``minimum`` may."""
        return self.rank >= minimum.rank

    @property
    def label(self) -> str:
        return self.value.capitalize()


_RANKS = {Role.VIEWER: 0, Role.AGENT: 1, Role.ADMIN: 2}

ROLE_HELP = "admin (everything), agent (decide cases) or viewer (read only)"


def parse_role(value: str) -> Role:
    """The role named ``value`` (any case); ``ValueError`` with the choices otherwise."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValueError(f"unknown role {value!r}: choose {ROLE_HELP}") from None
