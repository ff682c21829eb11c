"""returns grid: per-(account, tab, needs action) case counters kept by triggers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# SQLite: row triggers, one UPSERT per inserted or deleted case, two when an update moves a case between counters
# (the WHEN clause skips the many updates that change neither tab, needs_action nor account). SQLite has one
# writer at a time, so counter rows can never deadlock.
SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER case_tab_counts_insert AFTER INSERT ON cases
    BEGIN
        INSERT INTO case_tab_counts (account_id, tab, needs_action, case_count)
        VALUES (NEW.account_id, NEW.tab, NEW.needs_action, 1)
        ON CONFLICT (account_id, tab, needs_action) DO UPDATE SET case_count = case_count + 1;
    END
    """,
    """
    CREATE TRIGGER case_tab_counts_update AFTER UPDATE OF account_id, tab, needs_action ON cases
    WHEN OLD.account_id IS NOT NEW.account_id OR OLD.tab IS NOT NEW.tab OR OLD.needs_action IS NOT NEW.needs_action
    BEGIN
        UPDATE case_tab_counts SET case_count = case_count - 1
        WHERE account_id = OLD.account_id AND tab = OLD.tab AND needs_action = OLD.needs_action;
        INSERT INTO case_tab_counts (account_id, tab, needs_action, case_count)
        VALUES (NEW.account_id, NEW.tab, NEW.needs_action, 1)
        ON CONFLICT (account_id, tab, needs_action) DO UPDATE SET case_count = case_count + 1;
    END
    """,
    """
    CREATE TRIGGER case_tab_counts_delete AFTER DELETE ON cases
    BEGIN
        UPDATE case_tab_counts SET case_count = case_count - 1
        WHERE account_id = OLD.account_id AND tab = OLD.tab AND needs_action = OLD.needs_action;
    END
    """,
)

# PostgreSQL: statement triggers over transition tables, so a multi-row upsert of a sync page costs one grouped
# UPSERT, not one per row. Counter rows are written in key order: two concurrent transactions then take their
# row locks in the same order within a statement instead of deadlocking. A delete only decrements existing rows
# (an account's deletion cascades to its counters too, and a counter must not be re-created for a gone account).
POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION case_tab_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO case_tab_counts AS c (account_id, tab, needs_action, case_count)
            SELECT account_id, tab, needs_action, count(*) FROM new_rows
            GROUP BY account_id, tab, needs_action ORDER BY account_id, tab, needs_action
            ON CONFLICT (account_id, tab, needs_action) DO UPDATE SET case_count = c.case_count + excluded.case_count;
        ELSIF TG_OP = 'UPDATE' THEN
            INSERT INTO case_tab_counts AS c (account_id, tab, needs_action, case_count)
            SELECT account_id, tab, needs_action, sum(delta) FROM (
                SELECT account_id, tab, needs_action, 1 AS delta FROM new_rows
                UNION ALL
                SELECT account_id, tab, needs_action, -1 AS delta FROM old_rows
            ) AS moved
            GROUP BY account_id, tab, needs_action HAVING sum(delta) <> 0 ORDER BY account_id, tab, needs_action
            ON CONFLICT (account_id, tab, needs_action) DO UPDATE SET case_count = c.case_count + excluded.case_count;
        ELSE
            UPDATE case_tab_counts AS c SET case_count = c.case_count - gone.n
            FROM (SELECT account_id, tab, needs_action, count(*) AS n FROM old_rows
                  GROUP BY account_id, tab, needs_action) AS gone
            WHERE c.account_id = gone.account_id AND c.tab = gone.tab AND c.needs_action = gone.needs_action;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER case_tab_counts_insert AFTER INSERT ON cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION case_tab_counts_apply()
    """,
    """
    CREATE TRIGGER case_tab_counts_update AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION case_tab_counts_apply()
    """,
    """
    CREATE TRIGGER case_tab_counts_delete AFTER DELETE ON cases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION case_tab_counts_apply()
    """,
)


def upgrade() -> None:
    op.create_table(
        "case_tab_counts",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("tab", sa.String(length=32), nullable=False),
        sa.Column("needs_action", sa.Boolean(), nullable=False),
        sa.Column("case_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["tiktok_accounts.id"],
                                name=op.f("fk_case_tab_counts_account_id_tiktok_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "tab", "needs_action", name=op.f("pk_case_tab_counts")),
    )
    bind = op.get_bind()
    # Cases stored before this revision are counted once here; from now on the triggers keep the counters.
    bind.execute(sa.text(
        "INSERT INTO case_tab_counts (account_id, tab, needs_action, case_count) "
        "SELECT account_id, tab, needs_action, count(*) FROM cases GROUP BY account_id, tab, needs_action"
    ))
    for statement in POSTGRESQL_TRIGGERS if bind.dialect.name == "postgresql" else SQLITE_TRIGGERS:
        bind.execute(sa.text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for trigger in ("insert", "update", "delete"):
            bind.execute(sa.text(f"DROP TRIGGER IF EXISTS case_tab_counts_{trigger} ON cases"))
        bind.execute(sa.text("DROP FUNCTION IF EXISTS case_tab_counts_apply()"))
    else:
        for trigger in ("insert", "update", "delete"):
            bind.execute(sa.text(f"DROP TRIGGER IF EXISTS case_tab_counts_{trigger}"))
    op.drop_table("case_tab_counts")
