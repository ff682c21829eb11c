"""`returnbridge users ...`: create (stdin, generated), list, set-role, disable, reset-password; clean errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from returnbridge.cli import main
from returnbridge.config import get_settings
from returnbridge.db.engine import make_engine, make_session_factory, transaction
from returnbridge.db.models import User
from returnbridge.users.passwords import verify_password


@pytest.fixture
def database(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RETURNBRIDGE_DATABASE_URL", db_url)
    monkeypatch.setenv("RETURNBRIDGE_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def stored(db_url: str, email: str) -> User | None:
    engine = make_engine(db_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            user = session.scalars(select(User).where(User.email == email)).first()
            if user is not None:
                session.expunge(user)
            return user
    finally:
        engine.dispose()


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(args)


def test_create_reads_the_password_from_piped_stdin(database: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["users", "create", "--email", "Boss@Example.com", "--role", "admin"], monkeypatch,
               "a long enough password\n") == 0
    assert "Created boss@example.com (admin)." in capsys.readouterr().out
    user = stored(database, "boss@example.com")
    assert user is not None and user.role == "admin"
    assert verify_password(user.password_hash, "a long enough password")


def test_create_with_generate_prints_a_password_that_works(database: str, monkeypatch: pytest.MonkeyPatch,
                                                           capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["users", "create", "--email", "ana@example.com", "--role", "agent", "--generate"], monkeypatch) == 0
    password = capsys.readouterr().out.split("shown only now): ")[1].strip()
    user = stored(database, "ana@example.com")
    assert user is not None and verify_password(user.password_hash, password)


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--email", "ana@example.com", "--role", "boss"], "a long enough password\n", "unknown role 'boss'"),
    (["--email", "not-an-address", "--role", "agent"], "a long enough password\n", "is not an e-mail address"),
    (["--email", "ana@example.com", "--role", "agent"], "short\n", "at least 12 characters"),
    (["--email", "ana@example.com", "--role", "agent"], "", "no password on standard input"),
])
def test_create_errors_are_one_clean_line(database: str, monkeypatch: pytest.MonkeyPatch, capsys,  # type: ignore[no-untyped-def]
                                          args: list[str], stdin: str, message: str) -> None:
    assert run(["users", "create", *args], monkeypatch, stdin) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert stored(database, "ana@example.com") is None


def test_a_second_user_with_the_same_email_in_other_case_is_refused(database: str, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["users", "create", "--email", "ana@example.com", "--role", "agent", "--generate"], monkeypatch) == 0
    assert run(["users", "create", "--email", "ANA@example.com", "--role", "viewer", "--generate"], monkeypatch) == 1
    assert "already exists" in capsys.readouterr().err


def test_list_set_role_disable_and_reset_password(database: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    run(["users", "create", "--email", "boss@example.com", "--role", "admin", "--generate"], monkeypatch)
    run(["users", "create", "--email", "ana@example.com", "--role", "viewer", "--generate"], monkeypatch)
    assert run(["users", "set-role", "ana@example.com", "agent"], monkeypatch) == 0
    assert run(["users", "disable", "ana@example.com"], monkeypatch) == 0
    capsys.readouterr()
    assert run(["users", "list"], monkeypatch) == 0
    listing = capsys.readouterr().out
    assert "ana@example.com" in listing and "agent" in listing and "disabled" in listing
    assert run(["users", "disable", "boss@example.com"], monkeypatch) == 1
    assert "last active admin" in capsys.readouterr().err
    assert run(["users", "reset-password", "ana@example.com"], monkeypatch, "another good password\n") == 0
    user = stored(database, "ana@example.com")
    assert user is not None and verify_password(user.password_hash, "another good password")
    assert run(["users", "set-role", "nobody@example.com", "agent"], monkeypatch) == 1
    assert "no user 'nobody@example.com'" in capsys.readouterr().err


def test_a_bad_option_is_a_usage_error_with_exit_code_2(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["users", "create", "--email", "ana@example.com"], monkeypatch) == 2
