"""returns grid at a million cases: status tabs and the needs-action queue read their first page from one index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

- (tab, tiktok_create_time, id) replaces (tab, needs_action): a status tab's default page (newest first) is a range
  scan however few cases the tab holds. With the old index a small tab was either a walk of the whole created-time
  index past cases of other tabs or a sort of the tab; nothing read (tab, needs_action) (tab counts come from
  ``case_tab_counts``). Same number of indexes, so writes cost what they did.
- (needs_action, seller_deadline, id) replaces (needs_action, seller_deadline): PostgreSQL read the queue's cases
  without a deadline (its second segment, ordered by id) by walking the primary key over all cases, 1.1 s at 1M.
- PostgreSQL: ``case_tab_counts`` is a few dozen rows updated by every write of a case; vacuumed after a few hundred
  dead rows instead of autovacuum's 20 % + 50, its table stays a page or two for the tab strip's read.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_grid_tab")
        batch_op.create_index("ix_cases_grid_tab_created", ["tab", "tiktok_create_time", "id"], unique=False)
        batch_op.drop_index("ix_cases_needs_action_deadline")
        batch_op.create_index("ix_cases_needs_action_deadline", ["needs_action", "seller_deadline", "id"],
                              unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE case_tab_counts SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE case_tab_counts RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_needs_action_deadline")
        batch_op.create_index("ix_cases_needs_action_deadline", ["needs_action", "seller_deadline"], unique=False)
        batch_op.drop_index("ix_cases_grid_tab_created")
        batch_op.create_index("ix_cases_grid_tab", ["tab", "needs_action"], unique=False)
