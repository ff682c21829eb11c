"""Which tab vocabulary the merchant chose for the returns grid (PRODUCT.md lists both sets in use today)."""

from __future__ import annotations

from returnbridge.domain.statuses import LabelSet
from returnbridge.sync.runtime import Runtime


def current_label_set(runtime: Runtime) -> LabelSet:
    """The label set of the grid's tabs: the ``label_set`` setting when there is one, else today's labels.

    The one place the grid, its export and the API ask; when the settings page stores the choice in the database,
    this function reads it from there.
    """
    value = getattr(runtime.settings, "label_set", None)
    if not value:
        return LabelSet.CURRENT
    try:
        return LabelSet(str(value).lower())
    except ValueError:
        # A hand-edited value nobody knows: the grid still works, with today's labels.
        return LabelSet.CURRENT
