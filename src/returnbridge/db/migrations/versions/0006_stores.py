"""stores, store order matches, store effects outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("base_url", sa.String(length=255), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("credentials_encrypted", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "platform IN ('shopify', 'magento', 'woocommerce', 'prestashop')", name=op.f("ck_stores_platform")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("platform", "base_url", "shop_domain", name="uq_stores_identity"),
    )
    op.create_table(
        "store_order_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("tiktok_order_id", sa.String(length=64), nullable=False),
        sa.Column("store_order_id", sa.String(length=255), nullable=False),
        sa.Column("store_order_name", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('manual', 'lookup')", name=op.f("ck_store_order_matches_source")),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_order_matches_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_order_matches")),
        sa.UniqueConstraint("store_id", "tiktok_order_id", name="uq_store_order_matches_store_order"),
    )
    op.create_table(
        "store_effects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("held_reason", sa.Text(), nullable=False),
        sa.Column("store_record_id", sa.String(length=255), nullable=False),
        sa.Column("store_record_url", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("recorded_amount", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('return', 'refund', 'restock', 'return_cancel')", name=op.f("ck_store_effects_kind")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'in_progress', 'done', 'held', 'failed')", name=op.f("ck_store_effects_state")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_store_effects_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_effects_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_effects")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_store_effects_idempotency_key")),
    )
    with op.batch_alter_table("store_effects", schema=None) as batch_op:
        batch_op.create_index("ix_store_effects_store_due", ["store_id", "state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_store_effects_case", ["case_id", "store_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("store_effects", schema=None) as batch_op:
        batch_op.drop_index("ix_store_effects_case")
        batch_op.drop_index("ix_store_effects_store_due")
    op.drop_table("store_effects")
    op.drop_table("store_order_matches")
    op.drop_table("stores")
