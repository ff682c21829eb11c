"""`returnbridge users create | list | set-role | disable | enable | reset-password | token`: who can sign in to the
back-office. The way to create the first admin, and to get back in when every admin is locked out."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from returnbridge.domain.roles import ROLE_HELP
from returnbridge.errors import UserFacingError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")

users_app = typer.Typer(
    help="Create and manage back-office users (admin, agent, viewer).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _out() -> Console:
    return Console(soft_wrap=True)


@contextmanager
def _session() -> Iterator[Session]:
    from returnbridge.config import get_settings
    from returnbridge.db.engine import make_engine, make_session_factory, transaction
    from returnbridge.db.migrate import is_up_to_date

    url = get_settings().effective_database_url
    if not is_up_to_date(url):
        raise UserFacingError("the database schema is not up to date: run `returnbridge migrate` first")
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _in_session(work: Callable[[Session], T]) -> T:
    with _session() as session:
        return work(session)


def _read_password(generate: bool) -> tuple[str, bool]:
    """The new password: generated, read from piped stdin (first line), or typed twice at a hidden prompt."""
    from returnbridge.users.passwords import generate_password

    if generate:
        return generate_password(), True
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UserFacingError("no password on standard input: pipe one in, or use --generate")
        return line, False
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False


@users_app.command("create")
def create(
    email: Annotated[str, typer.Option("--email", help="The e-mail address the user signs in with.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {ROLE_HELP}.")],
    generate: Annotated[bool, typer.Option("--generate", help="Generate a password and print it once.")] = False,
) -> None:
    """Create a user. The password is read from standard input when piped, prompted for (twice, hidden) on a
    terminal, or generated with --generate."""
    from returnbridge.domain.roles import parse_role
    from returnbridge.users.service import create_user

    try:
        parse_role(role)  # before asking for a password that would be thrown away
    except ValueError as bad:
        raise UserFacingError(str(bad)) from None
    password, generated = _read_password(generate)
    created = _in_session(lambda session: create_user(session, email, role, password))
    out = _out()
    out.print(f"Created {created.email} ({created.role.value}).")
    if generated:
        out.print(f"Password (shown only now): {password}", highlight=False)


@users_app.command("list")
def list_users() -> None:
    """Every user: role, status and last sign-in."""
    from returnbridge.db.models import utcnow
    from returnbridge.users.service import list_users as all_users

    users = _in_session(all_users)
    out = _out()
    if not users:
        out.print("No users yet. Create the first admin with `returnbridge users create --email E --role admin`.")
        return
    now = utcnow()
    table = Table("id", "e-mail", "role", "status", "last sign-in")
    for user in users:
        status = "disabled" if not user.active else (
            f"locked until {_when(user.locked_until)}" if user.locked_until and user.locked_until > now else "active"
        )
        table.add_row(str(user.id), user.email, user.role.value, status, _when(user.last_login_at))
    out.print(table)


@users_app.command("set-role")
def set_role(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    role: Annotated[str, typer.Argument(help=f"One of {ROLE_HELP}.")],
) -> None:
    """Change a user's role (the last active admin cannot be demoted)."""
    from returnbridge.users.service import set_role as change

    changed = _in_session(lambda session: change(session, email, role))
    _out().print(f"{changed.email} is now {changed.role.value}.")


@users_app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="The user's e-mail address.")]) -> None:
    """Stop a user signing in and sign them out everywhere (the last active admin cannot be disabled)."""
    from returnbridge.users.service import set_active

    changed = _in_session(lambda session: set_active(session, email, False))
    _out().print(f"{changed.email} is disabled and signed out everywhere.")


@users_app.command("enable")
def enable(email: Annotated[str, typer.Argument(help="The user's e-mail address.")]) -> None:
    """Let a disabled user sign in again."""
    from returnbridge.users.service import set_active

    changed = _in_session(lambda session: set_active(session, email, True))
    _out().print(f"{changed.email} can sign in again.")


@users_app.command("reset-password")
def reset_password(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    generate: Annotated[bool, typer.Option("--generate", help="Generate a password and print it once.")] = False,
) -> None:
    """Set a new password (stdin, prompt or --generate); lifts a lockout and signs the user out everywhere."""
    from returnbridge.users.service import reset_password as reset

    password, generated = _read_password(generate)
    changed = _in_session(lambda session: reset(session, email, password))
    out = _out()
    out.print(f"New password set for {changed.email}; they are signed out everywhere.")
    if generated:
        out.print(f"Password (shown only now): {password}", highlight=False)


@users_app.command("token")
def token(
    email: Annotated[str, typer.Option("--email", help="Whose token: it acts as this user, with their role.")],
    name: Annotated[str, typer.Option("--name", help="What will use it, e.g. 'nightly export'.")],
) -> None:
    """Create a personal API token for /api/v1/ and print it once (only its SHA-256 is stored). The token is the
    last line of the output, alone, so a script can take it with `tail -n 1`."""
    from returnbridge.db.repositories.users import UserRepository
    from returnbridge.users.api_tokens import issue_token

    def issue(session: Session) -> tuple[str, str, str]:
        user = UserRepository(session).by_email(email)
        if user is None:
            raise UserFacingError(f"no user with the e-mail {email.strip().lower()}")
        token, summary = issue_token(session, user.id, name)
        return token, summary.name, f"{user.email} ({user.role})"

    secret, token_name, owner = _in_session(issue)
    out = _out()
    out.print(f"Created API token {token_name!r} for {owner}. Send it as 'Authorization: Bearer <token>'.",
              highlight=False)
    out.print("Token (shown only now; revoke it at /account/tokens):", highlight=False)
    out.print(secret, highlight=False, markup=False)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "never"
