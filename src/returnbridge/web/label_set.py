"""Which tab vocabulary the merchant chose for the returns grid (PRODUCT.md lists both sets in use today)."""

from __future__ import annotations

from returnbridge.db.engine import transaction
from returnbridge.domain.statuses import LabelSet
from returnbridge.sync import app_settings
from returnbridge.sync.runtime import Runtime


def current_label_set(runtime: Runtime) -> LabelSet:
    """The label set chosen on the Settings page (today's labels until one is chosen): the one place the grid, its
    export and the API ask."""
    with transaction(runtime.sessions) as session:
        return app_settings.load(session, runtime.settings).tab_labels
