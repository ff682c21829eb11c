"""stores: PrestaShop is a platform

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot alter a CHECK constraint in place: batch mode copies the table.
    with op.batch_alter_table("stores") as batch:
        batch.drop_constraint(op.f("ck_stores_platform"), type_="check")
        batch.create_check_constraint(op.f("ck_stores_platform"),
                                      "platform IN ('shopify', 'magento', 'woocommerce', 'prestashop')")


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_constraint(op.f("ck_stores_platform"), type_="check")
        batch.create_check_constraint(op.f("ck_stores_platform"), "platform IN ('shopify', 'magento', 'woocommerce')")
