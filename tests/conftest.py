"""Shared fixtures: databases (SQLite and PostgreSQL), service URLs, and the service-required policy.

A test that needs PostgreSQL or Redis skips with the reason when the URL is unset, except under
RETURNBRIDGE_REQUIRE_SERVICES=1 (CI), where a missing service is a failure: a green CI must have run everything.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from returnbridge.db.engine import make_engine, make_session_factory, normalise_url
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import Base

POSTGRES_ENV = "RETURNBRIDGE_TEST_POSTGRES_URL"
REDIS_ENV = "RETURNBRIDGE_TEST_REDIS_URL"


def services_required() -> bool:
    return os.environ.get("RETURNBRIDGE_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def missing_service(reason: str) -> None:
    """Skip (laptop) or fail (CI) because a service the test needs is not configured."""
    if services_required():
        pytest.fail(f"{reason} (RETURNBRIDGE_REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        missing_service(f"PostgreSQL not configured: set {POSTGRES_ENV}")
    return normalise_url(url)


@pytest.fixture(scope="session")
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session (and xdist worker), dropped at the end."""
    name = f"rb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is configured but not answering: say so plainly
        admin.dispose()
        missing_service(f"PostgreSQL at {POSTGRES_ENV} is not usable: {exc.__class__.__name__}: {exc}")
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV, "")
    if not url:
        missing_service(f"Redis not configured: set {REDIS_ENV}")
    return url


def _truncate_all(engine: Engine) -> None:
    """Empty every table and restart every sequence, as ``TRUNCATE ... RESTART IDENTITY CASCADE`` of all would.

    That TRUNCATE costs about half a second on PostgreSQL (a new file for each of 31 tables and their indexes), paid
    after every PostgreSQL test; a test fills a handful of tables with a few rows, which DELETE empties in
    milliseconds. DELETE fires the row triggers that keep the case counters and daily summaries, so deleting cases
    refills those tables: the pass repeats until nothing is left, and a database still not empty after a few passes
    gets the full TRUNCATE after all.
    """
    tables = list(reversed(Base.metadata.sorted_tables))  # children first: no foreign key is left dangling
    if not tables:
        return
    filled_probe = text(" UNION ALL ".join(
        f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables
    ))
    with engine.begin() as connection:
        for _attempt in range(3):
            filled = set(connection.execute(filled_probe).scalars())
            if not filled:
                break
            for table in tables:
                if table.name in filled:
                    connection.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        # A sequence is NULL in pg_sequences until it is first used after a restart: only the used ones restart.
        used = connection.execute(text(
            "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences WHERE last_value IS NOT NULL"
        )).scalars().all()
        for sequence in used:
            connection.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session (and xdist worker); tests get copies of it.

    Running alembic costs about 0.3 s a database, and well over a thousand tests want a fresh one: a file copy gives
    the same schema (and the same alembic_version row, so a test's own ``upgrade`` finds it current) in a millisecond.
    """
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    # The migration's engine is disposed, so its last connection checkpointed the WAL into the main file and removed
    # it: the main file alone is the whole database. Fail loudly rather than hand out copies missing committed pages.
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, f"{wal} still holds pages: the template would be incomplete"
    return path


def fresh_sqlite_url(template: Path, directory: Path) -> str:
    """A private, migrated SQLite database in ``directory`` (a copy of the session's template)."""
    path = directory / "returnbridge.sqlite3"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every DB test runs twice: on a fresh migrated SQLite file and on PostgreSQL (tables emptied after)."""
    if request.param == "sqlite":
        yield fresh_sqlite_url(request.getfixturevalue("migrated_sqlite_template"), tmp_path)
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    engine = make_engine(url)
    try:
        _truncate_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)
