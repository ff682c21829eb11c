"""The settings an admin changes on the Settings page, stored in the database so every process sees them.

Each has a default: the environment's value where one exists (``RETURNBRIDGE_SYNC_INTERVAL_MINUTES``), so an
install behaves as configured until an admin saves the form; from then on the database wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from returnbridge.config import Settings
from returnbridge.db.repositories import app_settings as repo
from returnbridge.domain.statuses import LabelSet, tab_labels
from returnbridge.errors import UserFacingError

TAB_LABELS = "tab_labels"
SYNC_INTERVAL = "sync_interval_minutes"
FETCH_RECORDS = "fetch_records"
# A poll per shop more than once a minute would not find more (the scheduler itself runs once a minute) and
# less than once a day would leave missed webhooks unnoticed for too long.
MAX_INTERVAL_MINUTES = 24 * 60


@dataclass(frozen=True)
class AppSettings:
    tab_labels: LabelSet
    sync_interval_minutes: int
    fetch_records: bool  # fetch each return's TikTok records (buyer notes, images, videos) after a pull


class InvalidSettings(UserFacingError):
    """The form had values we cannot use; ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def label_set_choices() -> list[tuple[str, str]]:
    """(value, how the tabs read) for each label set, to choose from."""
    return [(label_set.value, ", ".join(tab_labels(label_set))) for label_set in LabelSet]


def load(session: Session, settings: Settings) -> AppSettings:
    stored = repo.all_values(session)
    return AppSettings(
        tab_labels=_label_set(stored.get(TAB_LABELS)) or LabelSet.CURRENT,
        sync_interval_minutes=_interval(stored.get(SYNC_INTERVAL)) or settings.sync_interval_minutes,
        fetch_records=stored[FETCH_RECORDS] if isinstance(stored.get(FETCH_RECORDS), bool) else True,
    )


def save(session: Session, form: dict[str, str], *, by: str) -> AppSettings:
    """Validate the submitted form and store every value; nothing is stored when any field is wrong."""
    errors: dict[str, str] = {}
    label_set = _label_set(form.get(TAB_LABELS, ""))
    if label_set is None:
        errors[TAB_LABELS] = "Choose one of the tab label sets."
    raw_interval = form.get(SYNC_INTERVAL, "").strip()
    interval = _interval(raw_interval)
    if interval is None:
        errors[SYNC_INTERVAL] = (
            f"The sync interval must be a whole number of minutes from 1 to {MAX_INTERVAL_MINUTES}."
        )
    if errors or label_set is None or interval is None:
        raise InvalidSettings(errors)
    fetch_records = form.get(FETCH_RECORDS, "") in ("1", "on", "true")
    repo.put(session, TAB_LABELS, label_set.value, by=by)
    repo.put(session, SYNC_INTERVAL, interval, by=by)
    repo.put(session, FETCH_RECORDS, fetch_records, by=by)
    return AppSettings(label_set, interval, fetch_records)


def _label_set(value: Any) -> LabelSet | None:
    try:
        return LabelSet(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _interval(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 6:
            return None
        value = int(value)
    if isinstance(value, int) and 1 <= value <= MAX_INTERVAL_MINUTES:
        return value
    return None
