"""returns grid: tab and search text on cases, keyset indexes for the main sortable columns

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (index name suffix, column): one (column, id) index per sortable grid column, as in models.Case.
GRID_SORT_COLUMNS = (
    ("tiktok_id", "tiktok_id"),
    ("order_id", "order_id"),
    ("store_status", "store_status"),
    ("created", "tiktok_create_time"),
    ("updated", "tiktok_update_time"),
    ("amount", "refund_total"),
    ("deadline", "seller_deadline"),
)
_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tab", sa.String(length=32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    _fill_existing_cases()
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for name, column in GRID_SORT_COLUMNS:
            batch_op.create_index(f"ix_cases_grid_{name}", [column, "id"], unique=False)
        batch_op.create_index("ix_cases_grid_tab", ["tab", "needs_action"], unique=False)
        # (order_id, id) serves every lookup (account_id, order_id) did; one index less on each case write.
        batch_op.drop_index("ix_cases_order")


def _fill_existing_cases() -> None:
    """Cases stored before this revision get their tab and search text, as sync.mapping now sets them.

    Uses today's status table and normalisation (the same code the sync runs), so old and new rows agree.
    """
    from returnbridge.domain.case_view import search_text
    from returnbridge.domain.statuses import CaseKind, classify

    bind = op.get_bind()
    cases = sa.table(
        "cases", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("tiktok_status", sa.String),
        sa.column("tiktok_id", sa.String), sa.column("order_id", sa.String), sa.column("tab", sa.String),
        sa.column("search_text", sa.Text),
    )
    lines = sa.table(
        "case_lines", sa.column("case_id", sa.Integer), sa.column("seller_sku", sa.String),
        sa.column("product_name", sa.Text),
    )
    for kind, status in bind.execute(sa.select(cases.c.kind, cases.c.tiktok_status).distinct()).all():
        tab = classify(CaseKind(kind), status).tab
        if tab is not None:
            bind.execute(
                cases.update().where(cases.c.kind == kind, cases.c.tiktok_status == status).values(tab=tab.value)
            )
    last = 0
    while True:
        batch = bind.execute(
            sa.select(cases.c.id, cases.c.tiktok_id, cases.c.order_id)
            .where(cases.c.id > last).order_by(cases.c.id).limit(_BATCH)
        ).all()
        if not batch:
            return
        ids = [row.id for row in batch]
        words: dict[int, list[str]] = {row.id: [row.tiktok_id, row.order_id] for row in batch}
        for case_id, sku, name in bind.execute(
            sa.select(lines.c.case_id, lines.c.seller_sku, lines.c.product_name).where(lines.c.case_id.in_(ids))
        ):
            words[case_id] += [sku, name]
        bind.execute(
            cases.update().where(cases.c.id == sa.bindparam("case_id")).values(search_text=sa.bindparam("text")),
            [{"case_id": case_id, "text": search_text(*parts)} for case_id, parts in words.items()],
        )
        last = ids[-1]


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_order", ["account_id", "order_id"], unique=False)
        batch_op.drop_index("ix_cases_grid_tab")
        for name, _column in reversed(GRID_SORT_COLUMNS):
            batch_op.drop_index(f"ix_cases_grid_{name}")
        batch_op.drop_column("search_text")
        batch_op.drop_column("tab")
