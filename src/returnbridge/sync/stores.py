"""Stores the merchant mirrors into: adding one (credentials encrypted), settings, the local order map, the
effects list and the retry of a held effect. The service the web UI and the CLI call; it commits at its boundary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import update

from returnbridge.db.engine import transaction
from returnbridge.db.models import Store, StoreEffect, utcnow
from returnbridge.db.repositories.store_effects import FAILED, HELD, IN_PROGRESS, PENDING, StoreEffectRepository
from returnbridge.db.repositories.stores import StoreRepository
from returnbridge.errors import UserFacingError
from returnbridge.stores import registry
from returnbridge.stores.adapter import StoreAdapter
from returnbridge.stores.magento.client import MagentoCredentials
from returnbridge.stores.settings import StoreSettings
from returnbridge.sync import mirror_plan

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

WAITING_PREFIX = "Waiting for the "


class StoreServiceError(UserFacingError):
    http_status: ClassVar[int] = 422


class StoreNotFound(StoreServiceError):
    http_status = 404


class EffectNotFound(StoreServiceError):
    http_status = 404


class EffectNotRetryable(StoreServiceError):
    http_status = 409


@dataclass(frozen=True)
class StoreView:
    id: int
    platform: str
    name: str
    base_url: str
    settings: dict[str, Any]
    effects: dict[str, int] = field(default_factory=dict)  # count by state
    shop_domain: str = ""


@dataclass(frozen=True)
class EffectView:
    id: int
    case_id: int
    store_id: int
    kind: str
    state: str
    idempotency_key: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    held_reason: str
    store_record_id: str
    store_record_url: str
    currency: str
    amount: Decimal | None
    recorded_amount: Decimal | None

    @classmethod
    def of(cls, e: StoreEffect) -> EffectView:
        return cls(e.id, e.case_id, e.store_id, e.kind, e.state, e.idempotency_key, e.attempts, e.next_attempt_at,
                   e.last_error, e.held_reason, e.store_record_id, e.store_record_url, e.currency, e.amount,
                   e.recorded_amount)


def shopify_admin_url(domain: str) -> str:
    """``acme.myshopify.com`` → ``https://acme.myshopify.com``; a full URL (the emulator) is kept as given."""
    domain = domain.strip().rstrip("/")
    if not domain:
        raise StoreServiceError("the shop domain is required (e.g. acme.myshopify.com)")
    return domain if domain.startswith(("http://", "https://")) else f"https://{domain}"


def parse_settings(values: Mapping[str, Any]) -> StoreSettings:
    try:
        return StoreSettings.model_validate(dict(values))
    except ValidationError as invalid:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
                             for e in invalid.errors())
        raise StoreServiceError(f"invalid store settings: {problems}") from None


def check_platform(platform: str, settings: StoreSettings) -> None:
    """Refuse settings the platform cannot honour (instead of holding every effect later)."""
    spec = registry.platform(platform)
    for strategy in settings.order_lookup:
        if strategy.kind not in spec.lookup_kinds:
            raise StoreServiceError(f"order lookup {strategy.kind!r} is not available on {platform}; use one of "
                                    f"{', '.join(sorted(spec.lookup_kinds))}")
    if settings.auto_restock and settings.restock_location not in spec.restock_locations:
        raise StoreServiceError(f"restock location {settings.restock_location.value!r} is not possible on {platform}"
                                + ("; Magento (MSI) returns shipped units to the source they shipped from"
                                   if platform == "magento" else ""))


def magento_rest_url(url: str, store_code: str = "default") -> str:
    """``shop.example.com`` → ``https://shop.example.com/rest/default``; a URL that already has ``/rest/`` is kept."""
    url = url.strip().rstrip("/")
    if not url:
        raise StoreServiceError("the Magento base URL is required (e.g. https://shop.example.com)")
    if not url.startswith(("http://", "https://")):
        url = f"https://{url}"
    if "/rest/" in f"{url}/":
        return url
    code = store_code.strip() or "default"
    return f"{url}/rest/{code}"


def add_magento_store(
    runtime: Runtime, *, url: str, credentials: MagentoCredentials, store_code: str = "default", name: str = "",
    settings: Mapping[str, Any] | None = None,
) -> StoreView:
    """Add a Magento 2 / Adobe Commerce store (one store view's REST root); the admin password or integration
    token is encrypted at rest and never shown again."""
    base_url = magento_rest_url(url, store_code)
    parsed = parse_settings(settings or {})
    check_platform("magento", parsed)
    with transaction(runtime.sessions) as session:
        repo = StoreRepository(session, runtime.box)
        if any(s.platform == "magento" and s.base_url == base_url for s in repo.all()):
            raise StoreServiceError(f"store {base_url} is already added")
        store = repo.add("magento", name or base_url.split("://", 1)[-1], base_url, credentials.to_secret(),
                         parsed.model_dump(mode="json"))
        if parsed.enabled:
            mirror_plan.backfill(session, store)
        return _view(store)


def _view(store: Store, counts: dict[str, int] | None = None) -> StoreView:
    return StoreView(store.id, store.platform, store.name, store.base_url, dict(store.settings or {}), counts or {},
                     store.shop_domain)


def shopify_shop_domain(base_url: str, access_token: str, given: str = "") -> str:
    """The shop's myshopify domain, which identifies a Shopify store.

    A ``https://x.myshopify.com`` URL is the shop itself. Any other URL (the emulator, which serves many shops on one
    address and tells them apart by token; a proxy) is asked with the token (``shop { myshopifyDomain }``) unless
    the domain is given, and an answer that contradicts a given domain is refused.
    """
    given = given.strip().lower().rstrip("/")
    host = (urlsplit(base_url).hostname or "").lower()
    if host.endswith(".myshopify.com"):
        if given and given != host:
            raise StoreServiceError(f"--shop-domain {given} does not match the store URL {base_url}")
        return host
    from returnbridge.stores.adapter import StoreError
    from returnbridge.stores.shopify import ShopifyAdapter, ShopifyClient

    client = ShopifyClient(base_url, access_token, max_retries=2)
    try:
        reported = ShopifyAdapter(client, base_url).shop_domain()
    except StoreError as error:
        raise StoreServiceError(f"could not ask {base_url} which shop this token belongs to: {error.message}") from None
    finally:
        client.close()
    if given and given != reported:
        raise StoreServiceError(f"the token belongs to {reported}, not {given}")
    return reported


def add_shopify_store(
    runtime: Runtime, *, domain: str, access_token: str, name: str = "", settings: Mapping[str, Any] | None = None,
    shop_domain: str = "",
) -> StoreView:
    """Add a Shopify store; the Admin API access token is encrypted at rest and never shown again.

    ``domain`` is the shop domain or the API's base URL; a store is one (base URL, shop domain) pair, so two shops
    behind one address (the emulator) are two stores."""
    if not access_token.strip():
        raise StoreServiceError("the Admin API access token is empty")
    base_url = shopify_admin_url(domain)
    parsed = parse_settings(settings or {})
    check_platform("shopify", parsed)
    identity = shopify_shop_domain(base_url, access_token.strip(), shop_domain)
    with transaction(runtime.sessions) as session:
        repo = StoreRepository(session, runtime.box)
        if any(s.platform == "shopify" and s.base_url == base_url and s.shop_domain == identity for s in repo.all()):
            raise StoreServiceError(f"store {identity} ({base_url}) is already added")
        store = repo.add("shopify", name or identity, base_url, access_token.strip(),
                         parsed.model_dump(mode="json"), shop_domain=identity)
        if parsed.enabled:
            mirror_plan.backfill(session, store)
        return _view(store)


class StoreBusy(StoreServiceError):
    http_status = 409


@dataclass(frozen=True)
class RemovedStore:
    store: StoreView
    effects_deleted: int
    matches_deleted: int


def remove_store(runtime: Runtime, store_id: int, *, force: bool = False) -> RemovedStore:
    """Remove a store, its credentials, its outbox rows and its cached order matches.

    Refused while effects are pending or in progress (the store may be halfway through one: removing it then would
    lose what a retry needs to find it again) unless ``force``. What happened stays on each case's timeline (the
    store events with their links), which is the history; the outbox rows go with the store. Nothing is changed in
    the store itself."""
    with transaction(runtime.sessions) as session:
        repo = StoreRepository(session)
        store = repo.get(store_id, for_update=True)
        if store is None:
            raise StoreNotFound(f"store {store_id} does not exist")
        counts = StoreEffectRepository(session).counts(store_id)
        unfinished = {state: counts[state] for state in (PENDING, IN_PROGRESS) if counts.get(state)}
        if unfinished and not force:
            what = ", ".join(f"{n} {state}" for state, n in unfinished.items())
            raise StoreBusy(f"store {store_id} has effects not finished ({what}); mirror or retry them first, or "
                            "remove it with --force (they are then never performed)")
        view = _view(store, counts)
        effects, matches = repo.delete(store)
        return RemovedStore(view, effects, matches)


def site_url(url: str, what: str) -> str:
    """A store's site URL: ``https://`` added when no scheme is given; plain http only for this machine."""
    url = url.strip().rstrip("/")
    if not url:
        raise StoreServiceError(f"the {what} site URL is required (e.g. https://shop.example.com)")
    return url if url.startswith(("http://", "https://")) else f"https://{url}"


def _add_store(runtime: Runtime, platform: str, base_url: str, name: str, credentials: str,
               settings: Mapping[str, Any] | None) -> StoreView:
    parsed = parse_settings(settings or {})
    check_platform(platform, parsed)
    with transaction(runtime.sessions) as session:
        repo = StoreRepository(session, runtime.box)
        if any(s.platform == platform and s.base_url == base_url for s in repo.all()):
            raise StoreServiceError(f"store {base_url} is already added")
        store = repo.add(platform, name or base_url.split("://", 1)[-1], base_url, credentials,
                         parsed.model_dump(mode="json"))
        if parsed.enabled:
            mirror_plan.backfill(session, store)
        return _view(store)


def add_woocommerce_store(
    runtime: Runtime, *, url: str, consumer_key: str, consumer_secret: str, auth: str = "basic", name: str = "",
    settings: Mapping[str, Any] | None = None,
) -> StoreView:
    """Add a WooCommerce site; the consumer key and secret are encrypted at rest. ``auth``: ``basic`` (HTTP Basic
    over HTTPS) or ``query`` (keys in the query string, where the server strips ``Authorization``)."""
    from returnbridge.stores.adapter import StoreError
    from returnbridge.stores.woocommerce.client import check_transport_security

    if not consumer_key.strip() or not consumer_secret.strip():
        raise StoreServiceError("the consumer key and secret are both required")
    if auth not in ("basic", "query"):
        raise StoreServiceError("auth must be basic or query")
    base_url = site_url(url, "WooCommerce")
    try:
        check_transport_security(base_url)
    except StoreError as insecure:
        raise StoreServiceError(insecure.message) from None
    credentials = json.dumps({"consumer_key": consumer_key.strip(), "consumer_secret": consumer_secret.strip(),
                              "auth": auth})
    return _add_store(runtime, "woocommerce", base_url, name, credentials, settings)


def add_prestashop_store(
    runtime: Runtime, *, url: str, webservice_key: str, name: str = "", settings: Mapping[str, Any] | None = None
) -> StoreView:
    """Add a PrestaShop shop; the webservice key (sent as the Basic user name) is encrypted at rest."""
    from returnbridge.stores.adapter import StoreError
    from returnbridge.stores.prestashop.client import check_transport_security

    if not webservice_key.strip():
        raise StoreServiceError("the webservice key is empty")
    base_url = site_url(url, "PrestaShop")
    try:
        check_transport_security(base_url)
    except StoreError as insecure:
        raise StoreServiceError(insecure.message) from None
    return _add_store(runtime, "prestashop", base_url, name, webservice_key.strip(), settings)


def list_stores(runtime: Runtime) -> list[StoreView]:
    with transaction(runtime.sessions) as session:
        effects = StoreEffectRepository(session)
        return [_view(s, effects.counts(s.id)) for s in StoreRepository(session).all()]


def get_store(runtime: Runtime, store_id: int) -> StoreView:
    with transaction(runtime.sessions) as session:
        store = StoreRepository(session).get(store_id)
        if store is None:
            raise StoreNotFound(f"store {store_id} does not exist")
        return _view(store, StoreEffectRepository(session).counts(store_id))


def update_store_settings(runtime: Runtime, store_id: int, changes: Mapping[str, Any]) -> tuple[StoreView, int]:
    """Change some settings (validated as a whole); effects already due under the new settings are planned for
    existing cases in the same transaction (mirroring turned on later). Gives the store and how many were planned."""
    with transaction(runtime.sessions) as session:
        repo = StoreRepository(session)
        store = repo.get(store_id)
        if store is None:
            raise StoreNotFound(f"store {store_id} does not exist")
        merged = {**(store.settings or {}), **dict(changes)}
        parsed = parse_settings(merged)
        check_platform(store.platform, parsed)
        repo.set_settings(store, parsed.model_dump(mode="json"))
        session.flush()
        planned = mirror_plan.backfill(session, store) if parsed.enabled else 0
        return _view(store, StoreEffectRepository(session).counts(store_id)), planned


def backfill_store(runtime: Runtime, store_id: int) -> int:
    """Plan the due effects of every existing case for this store; gives how many effects are new."""
    with transaction(runtime.sessions) as session:
        store = StoreRepository(session).get(store_id)
        if store is None:
            raise StoreNotFound(f"store {store_id} does not exist")
        return mirror_plan.backfill(session, store)


def map_order(runtime: Runtime, store_id: int, tiktok_order_id: str, store_order_id: str, name: str = "") -> None:
    """The local map: this TikTok order is that store order (wins over every lookup strategy)."""
    with transaction(runtime.sessions) as session:
        repo = StoreRepository(session)
        if repo.get(store_id) is None:
            raise StoreNotFound(f"store {store_id} does not exist")
        repo.save_match(store_id, tiktok_order_id, store_order_id, name, source="manual", strategy="manual")


def list_effects(
    runtime: Runtime, *, store_id: int | None = None, states: Sequence[str] | None = None,
    case_id: int | None = None, limit: int = 200,
) -> list[EffectView]:
    with transaction(runtime.sessions) as session:
        rows = StoreEffectRepository(session).listing(store_id=store_id, states=states, case_id=case_id, limit=limit)
        return [EffectView.of(e) for e in rows]


def retry_effect(runtime: Runtime, effect_id: int, *, actor_name: str = "") -> EffectView:
    """Put a held or failed effect back in the queue now (after the merchant fixed the cause). Effects of the same
    case that were waiting for it are released too. The retry searches the store for our key before any call."""
    with transaction(runtime.sessions) as session:
        repo = StoreEffectRepository(session)
        effect = repo.get(effect_id, for_update=True)
        if effect is None:
            raise EffectNotFound(f"store effect {effect_id} does not exist")
        if effect.state not in (HELD, FAILED):
            raise EffectNotRetryable(f"store effect {effect_id} is {effect.state}; only held or failed effects are "
                                     "retried by hand")
        now = utcnow()
        _requeue(effect, now)
        repo.add_event(effect, actor="merchant", actor_name=actor_name, outcome="retry_requested",
                       text=f"{effect.kind.capitalize()} in the store: retry requested")
        session.execute(
            update(StoreEffect)
            .where(StoreEffect.case_id == effect.case_id, StoreEffect.store_id == effect.store_id,
                   StoreEffect.state == HELD, StoreEffect.held_reason.startswith(WAITING_PREFIX))
            .values(state=PENDING, held_reason="", next_attempt_at=now, updated_at=now)
        )
        return EffectView.of(effect)


def _requeue(effect: StoreEffect, now: datetime) -> None:
    effect.state = PENDING
    effect.held_reason = ""
    effect.next_attempt_at = now
    effect.updated_at = now


def held_or_failed(runtime: Runtime, store_id: int | None = None) -> list[EffectView]:
    return list_effects(runtime, store_id=store_id, states=[HELD, FAILED])


def adapter_for(runtime: Runtime, store: Store) -> StoreAdapter:
    """The platform adapter for a store, with its decrypted credentials (never logged)."""
    try:
        spec = registry.platform(store.platform)
    except KeyError:
        raise StoreServiceError(f"{store.platform} stores are not supported yet") from None
    with transaction(runtime.sessions) as session:
        credentials = StoreRepository(session, runtime.box).credentials(store)
    return spec.build(store.base_url, credentials)
