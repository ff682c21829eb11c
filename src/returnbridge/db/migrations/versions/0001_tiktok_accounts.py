"""TikTok accounts: one row per authorized shop, tokens encrypted.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain DateTime(timezone=True) here: migrations stay frozen even if the application's column types change.
    op.create_table(
        "tiktok_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.String(length=64), nullable=False),
        sa.Column("shop_cipher", sa.String(length=255), nullable=False),
        sa.Column("shop_name", sa.String(length=255), nullable=False),
        sa.Column("shop_code", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("seller_type", sa.String(length=32), nullable=False),
        sa.Column("seller_name", sa.String(length=255), nullable=False),
        sa.Column("open_id", sa.String(length=255), nullable=False),
        sa.Column("access_token_encrypted", sa.Text(), nullable=False),
        sa.Column("access_token_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=False),
        sa.Column("refresh_token_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_scopes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("authorization_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'expired', 'disabled')", name=op.f("ck_tiktok_accounts_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiktok_accounts")),
        sa.UniqueConstraint("shop_id", name=op.f("uq_tiktok_accounts_shop_id")),
    )


def downgrade() -> None:
    op.drop_table("tiktok_accounts")
