"""The Stores section of ``/connections``: the stores ReturnBridge mirrors into, their settings and effects.

Everyone signed in sees each store (platform, domain, mirroring, restock, whether credentials are set and when they
last worked, effect counts, held effects and why); agents and admins may retry a held effect and start a mirror run;
only admins add a store or change its settings. The Admin API access token is write-only: it is never put in a page,
a message or a log line.

Routes (all POST, CSRF-checked, redirecting back to ``/connections#store-<id>`` with a flash message):

- ``/connections/stores`` (admin): ``domain``, ``access_token``, ``name`` → ``add_shopify_store``;
- ``/connections/stores/{id}/settings`` (admin): ``mirroring``, ``auto_restock``, ``restock_location``,
  ``restock_location_id``, ``restock_trigger`` and per lookup row ``lookup_<n>_kind``, ``_prefix``, ``_suffix``,
  ``_key``, ``_namespace``, ``_scan_query`` → ``update_store_settings``;
- ``/connections/stores/{id}/mirror`` (agent): the mirror job for the store;
- ``/connections/stores/effects/{effect_id}/retry`` (agent) → ``retry_effect``.

A refused form is answered 400 with the Connections page, the message and the fields as submitted (never the token).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from returnbridge.db.engine import transaction
from returnbridge.db.models import StoreEffect
from returnbridge.db.repositories.store_effects import DONE, FAILED, HELD, IN_PROGRESS, PENDING
from returnbridge.stores.settings import (
    MirroringMode,
    RestockLocation,
    RestockTrigger,
    StoreSettings,
)
from returnbridge.sync import stores as store_service
from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

EFFECT_STATES = (PENDING, IN_PROGRESS, DONE, HELD, FAILED)
STATE_LABELS = {PENDING: "pending", IN_PROGRESS: "in progress", DONE: "done", HELD: "held", FAILED: "failed"}
MIRRORING_CHOICES = (
    (MirroringMode.OFF.value, "Off"),
    (MirroringMode.RECORD.value, "Record returns and refunds"),
    (MirroringMode.INFORMATIONAL.value, "Informational only (returns, never a refund)"),
)
LOCATION_CHOICES = (
    (RestockLocation.DEFAULT.value, "The store's default location"),
    (RestockLocation.FULFILLED_FROM.value, "The location the line was fulfilled from"),
    (RestockLocation.CHOSEN.value, "A chosen location (id below)"),
)
TRIGGER_CHOICES = (
    (RestockTrigger.PACKAGE_APPROVED.value, "When the received package is approved"),
    (RestockTrigger.REFUND_COMPLETED.value, "When the refund is completed"),
)
LOOKUP_CHOICES = (
    ("", "(not used)"),
    ("name", "Order name: prefix + TikTok order id + suffix"),
    ("tag", "Tag: prefix + TikTok order id + suffix"),
    ("note_attribute", "Note attribute (key) holds the id"),
    ("source_identifier", "Source identifier is the id"),
    ("metafield", "Metafield namespace.key holds the id (admin-filterable)"),
)
LOOKUP_FIELDS = ("prefix", "suffix", "key", "namespace", "scan_query")
# Rows shown in the lookup table: the configured strategies plus one empty row to add another.
MAX_LOOKUP_ROWS = 6
HELD_SHOWN = 20
ADD_FIELDS = ("domain", "name")  # the token is deliberately not kept for re-display


# A shop domain (acme.myshopify.com), or an http(s) origin with an optional port for a self-hosted stand-in such as
# the emulator; anything else (spaces, paths, credentials in the URL) is refused before it reaches the service.
DOMAIN_PATTERN = re.compile(
    r"^(?:https?://)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
    r"|^https?://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$",
    re.IGNORECASE,
)


def check_domain(domain: str) -> str:
    """The domain as typed, without a trailing slash; raises ``StoreServiceError`` when it is not one."""
    domain = domain.strip().rstrip("/")
    if not domain:
        raise store_service.StoreServiceError("the shop domain is required (e.g. acme.myshopify.com)")
    if not DOMAIN_PATTERN.match(domain):
        raise store_service.StoreServiceError(
            "the shop domain must look like acme.myshopify.com (or an http(s):// address for a test store)"
        )
    return domain


class InvalidStoreForm(Exception):
    """A settings form pydantic refused; ``errors`` maps form field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class StoreCard:
    """One store as the Connections page shows it."""

    view: store_service.StoreView
    settings: StoreSettings
    counts: dict[str, int]
    last_ok_at: datetime | None
    attention: list[store_service.EffectView]
    form: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    lookup_rows: int = 1

    @property
    def domain(self) -> str:
        return self.view.base_url.split("://", 1)[-1]

    @property
    def mirroring_label(self) -> str:
        return dict(MIRRORING_CHOICES)[self.settings.mirroring.value]

    @property
    def location_label(self) -> str:
        if self.settings.restock_location is RestockLocation.CHOSEN:
            return f"location {self.settings.restock_location_id}"
        return dict(LOCATION_CHOICES)[self.settings.restock_location.value].lower()

    @property
    def trigger_label(self) -> str:
        return dict(TRIGGER_CHOICES)[self.settings.restock_trigger.value].lower()


# --- reading ---------------------------------------------------------------------------------------------------


def settings_form(settings: StoreSettings) -> dict[str, str]:
    """The settings as form values (what the settings form shows before anything is submitted)."""
    form = {
        "mirroring": settings.mirroring.value,
        "auto_restock": "1" if settings.auto_restock else "",
        "restock_location": settings.restock_location.value,
        "restock_location_id": settings.restock_location_id,
        "restock_trigger": settings.restock_trigger.value,
    }
    for n, strategy in enumerate(settings.order_lookup):
        form[f"lookup_{n}_kind"] = strategy.kind
        for name in LOOKUP_FIELDS:
            form[f"lookup_{n}_{name}"] = str(getattr(strategy, name))
    return form


def _lookup_rows(form: Mapping[str, str]) -> int:
    used = [n for n in range(MAX_LOOKUP_ROWS) if form.get(f"lookup_{n}_kind")]
    return min(max(used, default=-1) + 2, MAX_LOOKUP_ROWS)


def _last_ok(runtime: Runtime) -> dict[int, datetime]:
    # A store's credentials last worked when an effect last completed there (every effect is a store call).
    with transaction(runtime.sessions) as session:
        rows = session.execute(select(StoreEffect.store_id, func.max(StoreEffect.updated_at))
                               .where(StoreEffect.state == DONE).group_by(StoreEffect.store_id))
        return {int(store_id): at for store_id, at in rows if at is not None}


def store_cards(runtime: Runtime, *, submitted: dict[int, tuple[dict[str, str], dict[str, str]]] | None = None
                ) -> list[StoreCard]:
    """Every store with what the page shows; ``submitted`` puts a refused settings form back (by store id)."""
    last_ok = _last_ok(runtime)
    cards = []
    for view in store_service.list_stores(runtime):
        settings = StoreSettings.model_validate(view.settings)
        form, errors = (submitted or {}).get(view.id, (settings_form(settings), {}))
        attention = store_service.held_or_failed(runtime, view.id)[:HELD_SHOWN]
        cards.append(StoreCard(view, settings, {s: view.effects.get(s, 0) for s in EFFECT_STATES},
                               last_ok.get(view.id), attention, form, errors, _lookup_rows(form)))
    return cards


# --- changing --------------------------------------------------------------------------------------------------


def _clean_message(message: str) -> str:
    # pydantic prefixes a validator's own message with "Value error, "; the merchant needs only the message.
    return message.removeprefix("Value error, ")


def parse_settings_form(form: Mapping[str, str], current: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted form as a settings change, validated as a whole; raises ``InvalidStoreForm`` with a message
    per field. Settings the form does not edit (which TikTok shops, the currency policy) are kept."""
    rows: list[int] = []
    strategies: list[dict[str, Any]] = []
    previous = list(current.get("order_lookup") or [])
    for n in range(MAX_LOOKUP_ROWS):
        kind = form.get(f"lookup_{n}_kind", "").strip()
        if not kind:
            continue
        strategy: dict[str, Any] = {"kind": kind}
        for name in LOOKUP_FIELDS:
            strategy[name] = form.get(f"lookup_{n}_{name}", "").strip()
        # The page does not edit how many pages a note-attribute scan reads; keep the merchant's CLI choice.
        if n < len(previous) and previous[n].get("kind") == kind and "scan_pages" in previous[n]:
            strategy["scan_pages"] = previous[n]["scan_pages"]
        rows.append(n)
        strategies.append(strategy)
    changes: dict[str, Any] = {
        "mirroring": form.get("mirroring", ""),
        "auto_restock": form.get("auto_restock") == "1",
        "restock_location": form.get("restock_location", ""),
        "restock_location_id": form.get("restock_location_id", "").strip(),
        "restock_trigger": form.get("restock_trigger", ""),
        "order_lookup": strategies,
    }
    try:
        StoreSettings.model_validate({**current, **changes})
    except ValidationError as invalid:
        errors: dict[str, str] = {}
        for error in invalid.errors():
            loc = error["loc"]
            if not loc:  # the model-level rule: a chosen location needs its id
                name = "restock_location_id"
            elif loc[0] == "order_lookup" and len(loc) >= 2 and isinstance(loc[1], int):
                row = rows[loc[1]]
                name = f"lookup_{row}_{loc[2]}" if len(loc) >= 3 else f"lookup_{row}"
            else:
                name = str(loc[0])
            errors.setdefault(name, _clean_message(str(error["msg"])))
        raise InvalidStoreForm(errors) from None
    return changes


class MirrorRunner:
    """Starts a store's mirror run: handed to the job queue when this process has one (``serve``, the demo),
    else on a thread of this web process (the mirror holds a lock named after the store, so a run already going
    elsewhere makes this one a no-op)."""

    def __init__(self, runtime: Runtime, hand_over: Callable[[int], None] | None = None) -> None:
        self.runtime = runtime
        self.hand_over = hand_over
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, store_id: int) -> None:
        if self.hand_over is not None:
            self.hand_over(store_id)
            return
        thread = threading.Thread(target=self._run, args=(store_id,), name=f"mirror-{store_id}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, store_id: int) -> None:
        from returnbridge.sync.mirror import mirror_store

        try:
            mirror_store(self.runtime, store_id)
        except Exception:  # the mirror records effect failures itself; this is a database outage or a bug
            log.exception("mirror run of store %s stopped", store_id)

    def join(self, timeout: float = 30.0) -> None:
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
