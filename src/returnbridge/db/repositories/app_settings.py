"""App-wide settings: one row per key, the value as JSON. Validation and defaults live in ``sync.app_settings``.

The column holds ``{"value": ...}`` rather than the bare value: SQLite gives a column declared JSON numeric
affinity, so a bare ``30`` or ``true`` would come back as a number the JSON decoder refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from returnbridge.db.models import AppSetting


def all_values(session: Session) -> dict[str, Any]:
    return {row.key: _unwrap(row.value) for row in session.scalars(select(AppSetting))}


def value(session: Session, key: str) -> Any | None:
    row = session.get(AppSetting, key)
    return None if row is None else _unwrap(row.value)


def put(session: Session, key: str, new_value: Any, *, by: str) -> None:
    """Insert or replace ``key``; the row is locked first so two admins saving at once do not both insert."""
    row = session.scalars(select(AppSetting).where(AppSetting.key == key).with_for_update()).first()
    if row is None:
        session.add(AppSetting(key=key, value={"value": new_value}, updated_by=by, updated_at=datetime.now(UTC)))
    else:
        row.value = {"value": new_value}
        row.updated_by = by
        row.updated_at = datetime.now(UTC)
    session.flush()


def _unwrap(stored: Any) -> Any:
    return stored.get("value") if isinstance(stored, dict) else None
