"""The countdown to TikTok's deadline, in words ("in 1 d 4 h", "2 h 5 min overdue").

The server writes it once; ``returns.js`` recomputes the same text from the ``data-deadline`` attribute as time
passes, so the two must agree on the wording.
"""

from __future__ import annotations

from datetime import datetime


def time_left(deadline: datetime, now: datetime) -> str:
    seconds = int((deadline - now).total_seconds())
    words = _duration(abs(seconds))
    return f"in {words}" if seconds >= 0 else f"{words} overdue"


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
