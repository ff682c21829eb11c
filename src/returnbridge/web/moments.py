"""Times and durations as the back-office shows them: UTC timestamps and short "3 min ago" phrases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def when(moment: datetime | None, never: str = "never") -> str:
    """``2026-12-02 10:30 UTC``, or ``never``."""
    if moment is None:
        return never
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(span: timedelta | None, unknown: str = "—") -> str:
    """The largest sensible unit: ``45 s``, ``12 min``, ``3 h 5 min``, ``4 days``."""
    if span is None:
        return unknown
    seconds = int(span.total_seconds())
    if seconds < 0:
        return "in " + duration(-span, unknown)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = seconds // 86400
    return f"{days} day" if days == 1 else f"{days} days"


def ago(moment: datetime | None, now: datetime, never: str = "never") -> str:
    """``12 min ago`` (or ``in 3 days`` for a moment ahead), or ``never``."""
    if moment is None:
        return never
    span = now - moment
    if span < timedelta(0):
        return "in " + duration(-span)
    return duration(span) + " ago"
