"""insight and automation: rules and their runs, units sold (Search Orders) and its cursor, notification settings
and log

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_log")),
    )
    op.create_index("ix_notification_log_at", "notification_log", ["at"], unique=False)
    op.create_table(
        "notification_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("smtp_host", sa.String(length=255), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_user", sa.String(length=255), nullable=False),
        sa.Column("smtp_password_encrypted", sa.Text(), nullable=False),
        sa.Column("smtp_starttls", sa.Boolean(), nullable=False),
        sa.Column("mail_from", sa.String(length=254), nullable=False),
        sa.Column("mail_to", sa.Text(), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=False),
        sa.Column("every_hours", sa.Integer(), nullable=False),
        sa.Column("due_within_hours", sa.Integer(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("action", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
    )
    op.create_index("ix_rules_enabled_priority", "rules", ["enabled", "priority", "id"], unique=False)
    op.create_table(
        "order_lines_sold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("line_item_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_user_id", sa.String(length=64), nullable=False),
        sa.Column("order_status", sa.String(length=32), nullable=False),
        sa.Column("seller_sku", sa.String(length=255), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("product_name", sa.Text(), nullable=False),
        sa.Column("order_create_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_update_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiktok_accounts.id"],
            name=op.f("fk_order_lines_sold_account_id_tiktok_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines_sold")),
        sa.UniqueConstraint("account_id", "line_item_id", name="uq_order_lines_sold_account_line"),
    )
    op.create_index(
        "ix_order_lines_sold_account_created", "order_lines_sold", ["account_id", "order_create_time"], unique=False
    )
    op.create_index("ix_order_lines_sold_buyer", "order_lines_sold", ["account_id", "buyer_user_id"], unique=False)
    op.create_index("ix_order_lines_sold_order", "order_lines_sold", ["account_id", "order_id"], unique=False)
    op.create_table(
        "order_sync_state",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiktok_accounts.id"],
            name=op.f("fk_order_sync_state_account_id_tiktok_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_order_sync_state")),
    )
    op.create_table(
        "rule_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_rule_runs_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_rule_runs_decision_id_decisions"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], name=op.f("fk_rule_runs_rule_id_rules"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_runs")),
        sa.UniqueConstraint("rule_id", "case_id", name="uq_rule_runs_rule_case"),
    )
    op.create_index("ix_rule_runs_case", "rule_runs", ["case_id"], unique=False)
    op.create_index("ix_rule_runs_outcome", "rule_runs", ["outcome", "at"], unique=False)


def downgrade() -> None:
    for table in (
        "rule_runs",
        "order_sync_state",
        "order_lines_sold",
        "rules",
        "notification_settings",
        "notification_log",
    ):
        op.drop_table(table)
