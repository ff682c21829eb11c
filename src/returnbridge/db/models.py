"""SQLAlchemy models. All SQL lives in ``db``; other layers use the repositories."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from returnbridge.db.money import MicroAmount
from returnbridge.db.types import UTCDateTime

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"  # the authorization lapsed (refresh token expired or refused): the seller must reconnect
    DISABLED = "disabled"  # the seller revoked access (webhook type 6) or an admin switched the shop off


class TikTokAccount(Base):
    """One authorized TikTok shop. Tokens are stored encrypted (``SecretBox``), never in plain text."""

    __tablename__ = "tiktok_accounts"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'expired', 'disabled')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(64), unique=True)
    shop_cipher: Mapped[str] = mapped_column(String(255))
    shop_name: Mapped[str] = mapped_column(String(255), default="")
    shop_code: Mapped[str] = mapped_column(String(64), default="")
    region: Mapped[str] = mapped_column(String(8), default="")
    seller_type: Mapped[str] = mapped_column(String(32), default="")
    seller_name: Mapped[str] = mapped_column(String(255), default="")
    open_id: Mapped[str] = mapped_column(String(255), default="")
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refresh_token_encrypted: Mapped[str] = mapped_column(Text)
    refresh_token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE.value)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    authorization_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# Index name suffix and column of the grid columns merchants sort and search by most (domain.case_view.GRID_COLUMNS).
# Every index is paid for on each write of a first sync (seven more cost a quarter of SQLite's upsert rate), so the
# account, type, TikTok status and reason columns sort without one: a sort of the filtered rows, not a range scan.
_GRID_SORT_COLUMNS = (
    ("tiktok_id", "tiktok_id"),
    ("order_id", "order_id"),
    ("store_status", "store_status"),
    ("created", "tiktok_create_time"),
    ("updated", "tiktok_update_time"),
    ("amount", "refund_total"),
    ("deadline", "seller_deadline"),
)


class Case(Base):
    """One TikTok after-sale request: a return (refund-only, return-and-refund, replacement) or a cancellation.

    Amounts are TikTok's own components copied as sent, never recomputed; ``raw`` keeps the whole payload so nothing
    TikTok sent is lost even when we do not model it yet.
    """

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("account_id", "kind", "tiktok_id", name="uq_cases_account_kind_tiktok_id"),
        CheckConstraint("kind IN ('return', 'cancellation')", name="kind"),
        Index("ix_cases_account_updated", "account_id", "tiktok_update_time"),
        # The needs-action queue by deadline, with the id as tie-break and as the order of cases without a deadline.
        Index("ix_cases_needs_action_deadline", "needs_action", "seller_deadline", "id"),
        Index("ix_cases_records_due", "records_due", "account_id"),
        # The returns grid (db.repositories.case_list) reads pages by keyset on (sort column, id): one index per
        # sortable column serves both directions and the tie-break, on SQLite and PostgreSQL alike.
        *(Index(f"ix_cases_grid_{name}", column, "id") for name, column in _GRID_SORT_COLUMNS),
        # A status tab's default page (newest first), a range scan however small the tab (migration 0011).
        Index("ix_cases_grid_tab_created", "tab", "tiktok_create_time", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("tiktok_accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    tiktok_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(64), default="")
    type: Mapped[str] = mapped_column(String(32), default="")  # return_type or cancel_type, as TikTok sends it
    tiktok_status: Mapped[str] = mapped_column(String(64), default="")
    store_status: Mapped[str] = mapped_column(String(16), default="")  # derived by domain.statuses, kept for the grid
    status_known: Mapped[bool] = mapped_column(Boolean, default=True)
    arbitration_status: Mapped[str] = mapped_column(String(32), default="")
    initiator_role: Mapped[str] = mapped_column(String(16), default="")
    reason_name: Mapped[str] = mapped_column(Text, default="")
    reason_text: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(8), default="")
    refund_total: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    refund_subtotal: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    refund_shipping_fee: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    refund_tax: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    retail_delivery_fee: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    buyer_service_fee: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    product_platform_discount: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    product_seller_discount: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    shipping_fee_platform_discount: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    shipping_fee_seller_discount: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    partial_refund_amount: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    needs_action: Mapped[bool] = mapped_column(Boolean, default=False)
    seller_action: Mapped[str] = mapped_column(String(64), default="")
    seller_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by_tiktok: Mapped[bool] = mapped_column(Boolean, default=False)
    tiktok_create_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    tiktok_update_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Kept by database triggers (migration 0012) for the analytics summaries: when the case reached Refunded (the
    # TikTok update time of the record that first showed it so; cleared if it leaves Refunded) and when TikTok
    # applied the first decision (the earliest done decision's finish).
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    records_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set when a return is new or changed: its TikTok records (buyer notes, images, videos) are fetched by a job,
    # so a first sync of 100,000 returns is not held up by 100,000 record calls.
    records_due: Mapped[bool] = mapped_column(Boolean, default=False)
    # Denormalised for the grid (set by sync.mapping with the rest of the row): the status tab, so tab counts are one
    # GROUP BY, and the searchable text (ids, SKUs, product names, lower-cased), so a search reads one table.
    tab: Mapped[str] = mapped_column(String(32), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CaseLine(Base):
    """One returned or cancelled unit (TikTok has no quantity: N units are N lines)."""

    __tablename__ = "case_lines"
    __table_args__ = (UniqueConstraint("case_id", "tiktok_line_id", name="uq_case_lines_case_line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    tiktok_line_id: Mapped[str] = mapped_column(String(64))
    order_line_item_id: Mapped[str] = mapped_column(String(64), default="")
    sku_id: Mapped[str] = mapped_column(String(64), default="")
    seller_sku: Mapped[str] = mapped_column(String(255), default="", index=True)
    product_name: Mapped[str] = mapped_column(Text, default="")
    sku_name: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(8), default="")
    refund_total: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    refund_subtotal: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    refund_shipping_fee: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)
    refund_tax: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)


class TimelineEvent(Base):
    """Append-only history of a case: status changes, TikTok records, decisions, store effects, notes.

    ``dedupe_key`` makes re-merging the same TikTok record (or replaying the same status change) a no-op.
    """

    __tablename__ = "timeline_events"
    __table_args__ = (
        UniqueConstraint("case_id", "dedupe_key", name="uq_timeline_events_case_dedupe"),
        Index("ix_timeline_events_case_at", "case_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(16))  # buyer, seller, tiktok, merchant, rule, system
    actor_name: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(32))  # status_change, tiktok_record, decision, store_effect, note
    from_status: Mapped[str] = mapped_column(String(64), default="")
    to_status: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(128))


class WebhookInbox(Base):
    """Every webhook TikTok sent, kept verbatim; a duplicate ``tts_notification_id`` is acknowledged and ignored."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'done', 'ignored', 'failed')", name="state"),
        Index("ix_webhook_inbox_state", "state", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(64), unique=True)
    shop_id: Mapped[str] = mapped_column(String(64), default="")
    type: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Decision(Base):
    """A merchant (or rule) decision sent to TikTok. Committed with its idempotency key before the call is made."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sent', 'done', 'failed')", name="state"),
        Index("ix_decisions_state", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(48))  # approve_request, reject_request, approve_package, ...
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    actor: Mapped[str] = mapped_column(String(16))  # merchant, rule, system
    actor_name: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str] = mapped_column(Text, default="")  # what TikTok answered, or how "already done" was resolved
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SyncState(Base):
    """Per account and stream (returns, cancellations): the poll cursor and the health shown to the merchant."""

    __tablename__ = "sync_state"
    __table_args__ = (CheckConstraint("stream IN ('returns', 'cancellations')", name="stream"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), primary_key=True)
    stream: Mapped[str] = mapped_column(String(16), primary_key=True)
    cursor: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # highest update_time committed
    backfill_done: Mapped[bool] = mapped_column(Boolean, default=False)
    last_poll_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_poll_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_webhook_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)


class QuarantinedRecord(Base):
    """A record TikTok sent that we could not store as a case (no id, not an object, an impossible value).

    Kept verbatim with the reason, so nothing TikTok sent is lost and a fix can replay it.
    """

    __tablename__ = "quarantined_records"
    __table_args__ = (Index("ix_quarantined_records_account", "account_id", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), nullable=True
    )
    source: Mapped[str] = mapped_column(String(32))  # returns, cancellations, webhook
    tiktok_id: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Lease(Base):
    """A named, expiring lock held in the database (e.g. "shop:42" while that shop is pulled).

    In the database rather than the queue: it works the same with the SQLite and the Redis queue, and a holder
    that dies simply lets its lease run out instead of leaving a lock behind forever.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class User(Base):
    """A person who signs in to the back-office. ``email`` is stored lower-cased (the CHECK makes sure), so the
    UNIQUE constraint makes addresses unique regardless of case on both dialects."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'agent', 'viewer')", name="role"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string format
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # consecutive, reset by a successful sign-in
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored, so a copy of the database cannot be
    used to sign in; ``csrf_secret`` is the token every form and JSON write of this session must carry."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")


class LoginAttempt(Base):
    """One sign-in attempt. In the database, not in memory, so the per-network limit holds across every web
    process sharing it."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_ip", "ip", "attempted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ip: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254), default="")
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- store mirroring (issue 4) ------------------------------------------------------------------------------------


class Store(Base):
    """A merchant store (Shopify first) that TikTok outcomes are mirrored into, one way.

    Credentials are encrypted (``SecretBox``); ``settings`` is validated by ``stores.settings.StoreSettings`` and is
    all-off until the merchant turns mirroring on.
    """

    __tablename__ = "stores"
    __table_args__ = (
        # A store is told apart by where we call it and which shop answers there: the Shopify emulator serves many
        # shops on one URL (told apart by token), so the shop domain is part of the identity. Platforms whose base
        # URL is the store leave ``shop_domain`` empty.
        UniqueConstraint("platform", "base_url", "shop_domain", name="uq_stores_identity"),
        CheckConstraint("platform IN ('shopify', 'magento', 'woocommerce', 'prestashop')", name="platform"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255), default="")
    base_url: Mapped[str] = mapped_column(String(255))  # where the API is called, e.g. https://acme.myshopify.com
    # Shopify: the shop's myshopify domain as the shop reports it (acme.myshopify.com); "" where base_url suffices.
    shop_domain: Mapped[str] = mapped_column(String(255), default="")
    credentials_encrypted: Mapped[str] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class StoreOrderMatch(Base):
    """Which store order a TikTok order is: set by hand (``manual``, the local map) or found by a lookup and cached."""

    __tablename__ = "store_order_matches"
    __table_args__ = (
        UniqueConstraint("store_id", "tiktok_order_id", name="uq_store_order_matches_store_order"),
        CheckConstraint("source IN ('manual', 'lookup')", name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    tiktok_order_id: Mapped[str] = mapped_column(String(64))
    store_order_id: Mapped[str] = mapped_column(String(255))
    store_order_name: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(16))
    strategy: Mapped[str] = mapped_column(String(32), default="")
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StoreEffect(Base):
    """Outbox row of one store effect (return, refund, restock) for one case in one store.

    Written in the same transaction as the case change that calls for it; the unique ``idempotency_key`` travels to
    the store (return reason note, refund note and ``@idempotent``, inventory ``referenceDocumentUri``) so a retry
    finds what an earlier attempt did instead of doing it twice.
    """

    __tablename__ = "store_effects"
    __table_args__ = (
        CheckConstraint("kind IN ('return', 'refund', 'restock', 'return_cancel')", name="kind"),
        CheckConstraint("state IN ('pending', 'in_progress', 'done', 'held', 'failed')", name="state"),
        Index("ix_store_effects_store_due", "store_id", "state", "next_attempt_at"),
        Index("ix_store_effects_case", "case_id", "store_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    held_reason: Mapped[str] = mapped_column(Text, default="")
    store_record_id: Mapped[str] = mapped_column(String(255), default="")
    store_record_url: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(8), default="")
    amount: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)  # TikTok's refund total, as sent
    recorded_amount: Mapped[Decimal | None] = mapped_column(MicroAmount(), nullable=True)  # what the store shows
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # amounts and units snapshot (strings)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # frozen before the first call
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- settings and sync runs (issue 6) -----------------------------------------------------------------------------


class AppSetting(Base):
    """One app-wide setting chosen on the Settings page (tab labels, sync interval, ...), as JSON.

    A missing row means "the default": the environment's value where there is one, so a fresh install behaves as
    configured until an admin changes something.
    """

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")


class SyncRun(Base):
    """One press of "Sync Returns": which shops, how far it got, and how it ended.

    Progress lives here rather than in the process doing the pull, so any web process can stream it; the puller
    touches ``heartbeat_at`` with every progress write, and a run whose heartbeat stopped is treated as dead.
    """

    __tablename__ = "sync_runs"
    __table_args__ = (
        CheckConstraint("state IN ('running', 'done', 'failed')", name="state"),
        Index("ix_sync_runs_state", "state", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_by: Mapped[str] = mapped_column(String(254), default="")
    account_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="running")
    received: Mapped[int] = mapped_column(Integer, default=0)  # records read from TikTok so far
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)  # TikTok's announced total, once known
    created: Mapped[int] = mapped_column(Integer, default=0)  # cases we did not hold before
    # Per shop: {"account_id", "name", "state" (waiting/pulling/done/busy/unavailable/failed), "received",
    # "created", "status_changes", "error"}.
    shops: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")


# --- personal API tokens (issue 6) -------------------------------------------------------------------------------


class ApiToken(Base):
    """A personal API token: ``Authorization: Bearer rb_...`` acts as its user, with that user's role.

    Only the SHA-256 of the token is stored (like web sessions), so a copy of the database cannot call the API;
    ``prefix`` is the first characters, shown in lists so the owner can tell tokens apart.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- grid tab counters (issue 6) -----------------------------------------------------------------------------------


class CaseTabCount(Base):
    """How many cases an account has per status tab and needs-action flag, kept exact by database triggers on
    ``cases`` (migration 0009), so the grid's tab strip is a read of a few dozen rows instead of a count over
    every case. Written only by the triggers; a moved case decrements one counter and increments another."""

    __tablename__ = "case_tab_counts"

    account_id: Mapped[int] = mapped_column(ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), primary_key=True)
    tab: Mapped[str] = mapped_column(String(32), primary_key=True)
    needs_action: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    case_count: Mapped[int] = mapped_column(BigInteger)


# --- analytics summaries (issue 7) ---------------------------------------------------------------------------------
# Written only by the triggers of migration 0012, in the transaction that writes the case, line, decision or sold
# line; read by ``repositories.analytics_summary``. A day is the UTC day as text (YYYY-MM-DD; "" when unknown), money
# is integer millionths per currency.


_CLUSTERED = {"sqlite_with_rowid": False}  # SQLite reads the rows in primary-key order, no second b-tree


def _account_key() -> Mapped[int]:
    return mapped_column(ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), primary_key=True)


class DailyRequests(Base):
    """Cases per account, day of the request, kind, TikTok type and store status."""

    __tablename__ = "daily_requests"
    __table_args__ = _CLUSTERED

    account_id: Mapped[int] = _account_key()
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    type: Mapped[str] = mapped_column(String(32), primary_key=True)
    store_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    cases: Mapped[int] = mapped_column(BigInteger)


class DailyReasons(Base):
    """Cases per account, day of the request and reason."""

    __tablename__ = "daily_reasons"
    __table_args__ = _CLUSTERED

    account_id: Mapped[int] = _account_key()
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, primary_key=True)
    cases: Mapped[int] = mapped_column(BigInteger)


class DailyDecisions(Base):
    """Cases per account and day of the request by who decided, with the hours-to-decision histogram bucket (-99:
    not decided) and the day of a still-open seller deadline ("" when none)."""

    __tablename__ = "daily_decisions"

    account_id: Mapped[int] = _account_key()
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    decided_by_tiktok: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    in_arbitration: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    merchant_decided: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    decision_bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    open_deadline_day: Mapped[str] = mapped_column(String(10), primary_key=True)
    cases: Mapped[int] = mapped_column(BigInteger)
    decision_ms: Mapped[int] = mapped_column(BigInteger)


class DailyRefunds(Base):
    """Refunded cases per account, day of the refund and currency, with the refund's parts in millionths."""

    __tablename__ = "daily_refunds"
    __table_args__ = _CLUSTERED

    account_id: Mapped[int] = _account_key()
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    currency: Mapped[str] = mapped_column(String(8), primary_key=True)
    cases: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    shipping: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    platform_funded: Mapped[int] = mapped_column(BigInteger)
    seller_funded: Mapped[int] = mapped_column(BigInteger)


class _SkuUnits:
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    account_id: Mapped[int] = _account_key()
    seller_sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    product_name: Mapped[str] = mapped_column(Text, primary_key=True)
    returned_units: Mapped[int] = mapped_column(BigInteger)
    units_sold: Mapped[int] = mapped_column(BigInteger)


class MonthlySkuUnits(_SkuUnits, Base):
    """Returned units (lines of returns, by month of the request) and units sold (by month of the order)."""

    __tablename__ = "monthly_sku_units"
    __table_args__ = _CLUSTERED


class DailySkuUnits(_SkuUnits, Base):
    """The same per day, read only for a period's partial first and last months."""

    __tablename__ = "daily_sku_units"
    __table_args__ = _CLUSTERED


# --- insight: rules, units sold, notifications (issue 7) ---------------------------------------------------------


# --- insight and automation (issue 7) -----------------------------------------------------------------------------


class Rule(Base):
    """A merchant's rule: when a new or changed case meets ``conditions``, take ``action`` (``domain.rules``).

    Rules start disabled; ``enabled_at`` marks when a rule was last switched on, and a rule only acts on cases
    changed since then, so switching a rule on never sweeps through the whole history."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_enabled_priority", "enabled", "priority", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=100)  # lower runs first; ties by id
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    action: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    updated_by: Mapped[str] = mapped_column(String(254), default="")


class RuleRun(Base):
    """A rule having acted on a case. UNIQUE (rule, case): claimed (committed) before the action is taken, so a
    rule acts on a case exactly once however often the case changes or the job runs."""

    __tablename__ = "rule_runs"
    __table_args__ = (
        UniqueConstraint("rule_id", "case_id", name="uq_rule_runs_rule_case"),
        Index("ix_rule_runs_case", "case_id"),
        Index("ix_rule_runs_outcome", "outcome", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(48))
    # claimed, done, failed, refused (did not fit the case), sent (TikTok did not answer yet), review
    outcome: Mapped[str] = mapped_column(String(16), default="claimed")
    message: Mapped[str] = mapped_column(Text, default="")
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrderLineSold(Base):
    """One sold unit from TikTok's Search Orders (a line item is a unit): the denominator of return rates and
    the buyer of an order (for rules on a buyer's earlier returns)."""

    __tablename__ = "order_lines_sold"
    __table_args__ = (
        UniqueConstraint("account_id", "line_item_id", name="uq_order_lines_sold_account_line"),
        Index("ix_order_lines_sold_account_created", "account_id", "order_create_time"),
        Index("ix_order_lines_sold_order", "account_id", "order_id"),
        Index("ix_order_lines_sold_buyer", "account_id", "buyer_user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("tiktok_accounts.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(64))
    line_item_id: Mapped[str] = mapped_column(String(64))
    buyer_user_id: Mapped[str] = mapped_column(String(64), default="")
    order_status: Mapped[str] = mapped_column(String(32), default="")
    seller_sku: Mapped[str] = mapped_column(String(255), default="")
    product_id: Mapped[str] = mapped_column(String(64), default="")
    product_name: Mapped[str] = mapped_column(Text, default="")
    order_create_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    order_update_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OrderSyncState(Base):
    """The Search Orders cursor of one account (highest order ``update_time`` stored) and its health."""

    __tablename__ = "order_sync_state"

    account_id: Mapped[int] = mapped_column(ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), primary_key=True)
    cursor: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class NotificationSettings(Base):
    """The digest's settings: one row (id 1). The SMTP password is encrypted (``SecretBox``)."""

    __tablename__ = "notification_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    smtp_host: Mapped[str] = mapped_column(String(255), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=587)
    smtp_user: Mapped[str] = mapped_column(String(255), default="")
    smtp_password_encrypted: Mapped[str] = mapped_column(Text, default="")
    smtp_starttls: Mapped[bool] = mapped_column(Boolean, default=True)
    mail_from: Mapped[str] = mapped_column(String(254), default="")
    mail_to: Mapped[str] = mapped_column(Text, default="")  # comma-separated addresses
    webhook_url: Mapped[str] = mapped_column(Text, default="")
    every_hours: Mapped[int] = mapped_column(Integer, default=24)
    due_within_hours: Mapped[int] = mapped_column(Integer, default=24)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class NotificationLog(Base):
    """Each attempt to notify, per channel: sent or failed with the error, shown on the notifications page."""

    __tablename__ = "notification_log"
    __table_args__ = (Index("ix_notification_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))  # email, webhook
    kind: Mapped[str] = mapped_column(String(16))  # digest, test
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
