"""cases, timeline, inbox, decisions, sync state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Money columns are BIGINT millionths of the currency unit (db/money.py): exact on SQLite too.
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.String(length=64), nullable=False),
        sa.Column("shop_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'done', 'ignored', 'failed')", name=op.f("ck_webhook_inbox_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_inbox")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_webhook_inbox_notification_id")),
    )
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_inbox_state", ["state", "received_at"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tiktok_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("tiktok_status", sa.String(length=64), nullable=False),
        sa.Column("store_status", sa.String(length=16), nullable=False),
        sa.Column("status_known", sa.Boolean(), nullable=False),
        sa.Column("arbitration_status", sa.String(length=32), nullable=False),
        sa.Column("initiator_role", sa.String(length=16), nullable=False),
        sa.Column("reason_name", sa.Text(), nullable=False),
        sa.Column("reason_text", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("refund_total", sa.BigInteger(), nullable=True),
        sa.Column("refund_subtotal", sa.BigInteger(), nullable=True),
        sa.Column("refund_shipping_fee", sa.BigInteger(), nullable=True),
        sa.Column("refund_tax", sa.BigInteger(), nullable=True),
        sa.Column("retail_delivery_fee", sa.BigInteger(), nullable=True),
        sa.Column("buyer_service_fee", sa.BigInteger(), nullable=True),
        sa.Column("product_platform_discount", sa.BigInteger(), nullable=True),
        sa.Column("product_seller_discount", sa.BigInteger(), nullable=True),
        sa.Column("shipping_fee_platform_discount", sa.BigInteger(), nullable=True),
        sa.Column("shipping_fee_seller_discount", sa.BigInteger(), nullable=True),
        sa.Column("partial_refund_amount", sa.BigInteger(), nullable=True),
        sa.Column("needs_action", sa.Boolean(), nullable=False),
        sa.Column("seller_action", sa.String(length=64), nullable=False),
        sa.Column("seller_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_tiktok", sa.Boolean(), nullable=False),
        sa.Column("tiktok_create_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tiktok_update_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("records_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('return', 'cancellation')", name=op.f("ck_cases_kind")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["tiktok_accounts.id"], name=op.f("fk_cases_account_id_tiktok_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("account_id", "kind", "tiktok_id", name="uq_cases_account_kind_tiktok_id"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_account_updated", ["account_id", "tiktok_update_time"], unique=False)
        batch_op.create_index("ix_cases_needs_action_deadline", ["needs_action", "seller_deadline"], unique=False)
        batch_op.create_index("ix_cases_order", ["account_id", "order_id"], unique=False)

    op.create_table(
        "sync_state",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.DateTime(timezone=True), nullable=True),
        sa.Column("backfill_done", sa.Boolean(), nullable=False),
        sa.Column("last_poll_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_poll_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_webhook_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.CheckConstraint("stream IN ('returns', 'cancellations')", name=op.f("ck_sync_state_stream")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiktok_accounts.id"],
            name=op.f("fk_sync_state_account_id_tiktok_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "stream", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "case_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("tiktok_line_id", sa.String(length=64), nullable=False),
        sa.Column("order_line_item_id", sa.String(length=64), nullable=False),
        sa.Column("sku_id", sa.String(length=64), nullable=False),
        sa.Column("seller_sku", sa.String(length=255), nullable=False),
        sa.Column("product_name", sa.Text(), nullable=False),
        sa.Column("sku_name", sa.Text(), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("refund_total", sa.BigInteger(), nullable=True),
        sa.Column("refund_subtotal", sa.BigInteger(), nullable=True),
        sa.Column("refund_shipping_fee", sa.BigInteger(), nullable=True),
        sa.Column("refund_tax", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_lines_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_lines")),
        sa.UniqueConstraint("case_id", "tiktok_line_id", name="uq_case_lines_case_line"),
    )
    with op.batch_alter_table("case_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_lines_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_lines_seller_sku"), ["seller_sku"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("actor_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'sent', 'done', 'failed')", name=op.f("ck_decisions_state")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_decisions_case_id_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_decisions_idempotency_key")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_decisions_state", ["state", "created_at"], unique=False)

    op.create_table(
        "timeline_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("actor_name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=64), nullable=False),
        sa.Column("to_status", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_timeline_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_events")),
        sa.UniqueConstraint("case_id", "dedupe_key", name="uq_timeline_events_case_dedupe"),
    )
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.create_index("ix_timeline_events_case_at", ["case_id", "at"], unique=False)




def downgrade() -> None:
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_events_case_at")

    op.drop_table("timeline_events")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_state")
        batch_op.drop_index(batch_op.f("ix_decisions_case_id"))

    op.drop_table("decisions")
    with op.batch_alter_table("case_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_lines_seller_sku"))
        batch_op.drop_index(batch_op.f("ix_case_lines_case_id"))

    op.drop_table("case_lines")
    op.drop_table("sync_state")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_order")
        batch_op.drop_index("ix_cases_needs_action_deadline")
        batch_op.drop_index("ix_cases_account_updated")

    op.drop_table("cases")
    with op.batch_alter_table("webhook_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_inbox_state")

    op.drop_table("webhook_inbox")

