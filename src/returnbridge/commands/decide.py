"""`returnbridge decide ...`: answer TikTok requests from the command line, one case or many at once.

Cases are named by our case id or by TikTok's return / cancellation id. Every command prints one line per case;
the exit code is 0 only when every decision is done on TikTok.
"""

from __future__ import annotations

import getpass
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from returnbridge.errors import UserFacingError

if TYPE_CHECKING:
    from returnbridge.sync.decisions import DecisionOutcome, EvidenceImage
    from returnbridge.sync.runtime import Runtime

decide_app = typer.Typer(
    help="Decide TikTok requests: approve or reject requests and returned packages, offer partial refunds, "
    "answer cancellations.",
    no_args_is_help=True,
)

out = Console(soft_wrap=True)

CaseRefs = Annotated[
    list[str], typer.Argument(metavar="CASE_ID", help="Case ids, or TikTok return / cancellation ids.")
]
OneCase = Annotated[str, typer.Argument(metavar="CASE_ID", help="A case id, or a TikTok return / cancellation id.")]
Reason = Annotated[
    str, typer.Option(help="Reject reason name (or its text): see `returnbridge decide reasons CASE_ID`.")
]
Comment = Annotated[str | None, typer.Option(help="Note for the buyer and TikTok (at most 500 characters).")]
Images = Annotated[
    list[Path] | None,
    typer.Option("--image", help="Evidence photo (JPEG, PNG, GIF or WebP, at most 5 MB); repeat for more."),
]
ActorName = Annotated[
    str | None, typer.Option("--as", help="Who decides, as written on the case timeline (default: your login).")
]
Key = Annotated[
    str | None,
    typer.Option("--key", help="Idempotency key: the same command run again with the same key decides only once."),
]

_STATE_STYLE = {"done": "green", "failed": "red", "refused": "red", "sent": "yellow", "pending": "yellow"}


def _runtime() -> Runtime:
    from returnbridge.config import get_settings
    from returnbridge.db.migrate import is_up_to_date
    from returnbridge.sync.runtime import Runtime

    settings = get_settings()
    if not is_up_to_date(settings.effective_database_url):
        raise UserFacingError("the database schema is not up to date: run `returnbridge migrate` first")
    return Runtime.from_settings(settings)


def _actor_name(name: str | None) -> str:
    if name:
        return name
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


def _case_ids(runtime: Runtime, refs: list[str]) -> list[int]:
    from returnbridge.db.engine import transaction
    from returnbridge.db.repositories.decisions import DecisionRepository

    with transaction(runtime.sessions) as session:
        found = DecisionRepository(session).case_ids_for(refs)
    unknown = [ref for ref, case_id in found.items() if case_id is None]
    if unknown:
        raise UserFacingError(f"no case {', '.join(unknown)}: give a case id or a TikTok return / cancellation id")
    return [case_id for case_id in found.values() if case_id is not None]


def _images(paths: list[Path] | None) -> tuple[EvidenceImage, ...]:
    from returnbridge.sync.decisions import EvidenceImage

    images = []
    for path in paths or []:
        try:
            images.append(EvidenceImage(filename=path.name, data=path.read_bytes()))
        except OSError as unreadable:
            raise UserFacingError(f"cannot read {path}: {unreadable.strerror or unreadable}") from None
    return tuple(images)


def _print(outcomes: list[DecisionOutcome]) -> None:
    # One line per case rather than a table: messages (reason lists, TikTok's words) stay whole and greppable.
    for outcome in outcomes:
        style = _STATE_STYLE.get(outcome.state, "bold")
        tiktok = f" (TikTok {outcome.tiktok_id})" if outcome.tiktok_id else ""
        out.print(f"case {outcome.case_id}{tiktok} {outcome.action}: [{style}]{outcome.state}[/{style}] - "
                  f"{escape(outcome.message)}")
    if len(outcomes) > 1:
        counts = Counter(outcome.state for outcome in outcomes)
        out.print(f"{len(outcomes)} cases: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))


def _decide(
    action: str,
    refs: list[str],
    actor_name: str | None,
    key: str | None,
    *,
    reason: str | None = None,
    comment: str | None = None,
    image_paths: list[Path] | None = None,
    amount: str | None = None,
    currency: str | None = None,
) -> None:
    from returnbridge.sync.decisions import DecisionParams, DecisionService, parse_amount

    params = DecisionParams(
        reason=reason, comment=comment, images=_images(image_paths),
        amount=None if amount is None else parse_amount(amount), currency=currency,
    )
    runtime = _runtime()
    try:
        service = DecisionService(runtime)
        case_ids = _case_ids(runtime, refs)
        name = _actor_name(actor_name)
        if len(case_ids) == 1:
            # One case: a refusal is the command's error, shown as one line by the main CLI.
            outcomes = [service.decide(case_ids[0], action, params, actor="merchant", actor_name=name,
                                       idempotency_key=key)]
        else:
            outcomes = service.decide_many(case_ids, action, params, actor="merchant", actor_name=name,
                                           idempotency_key=key)
    finally:
        runtime.close()
    _print(outcomes)
    if not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(1)


@decide_app.command()
def approve(case_ids: CaseRefs, actor: ActorName = None, key: Key = None) -> None:
    """Approve requests: refund-only is refunded, return-and-refund waits for the parcel, replacements are sent."""
    _decide("approve_request", case_ids, actor, key)


@decide_app.command()
def reject(
    case_ids: CaseRefs, reason: Reason, comment: Comment = None, image: Images = None, actor: ActorName = None,
    key: Key = None,
) -> None:
    """Reject requests with one of TikTok's reasons for them, an optional comment and evidence photos."""
    _decide("reject_request", case_ids, actor, key, reason=reason, comment=comment, image_paths=image)


@decide_app.command("approve-package")
def approve_package(case_ids: CaseRefs, actor: ActorName = None, key: Key = None) -> None:
    """Accept returned packages after inspection: TikTok refunds the buyer."""
    _decide("approve_package", case_ids, actor, key)


@decide_app.command("reject-package")
def reject_package(
    case_ids: CaseRefs, reason: Reason, comment: Comment = None, image: Images = None, actor: ActorName = None,
    key: Key = None,
) -> None:
    """Reject returned packages (wrong item, used, damaged...) with a reason, a comment and evidence photos."""
    _decide("reject_package", case_ids, actor, key, reason=reason, comment=comment, image_paths=image)


@decide_app.command("partial-refund")
def partial_refund(
    case_id: OneCase,
    amount: Annotated[str, typer.Option(help="Amount to offer, like 12.34, at most the refundable total.")],
    currency: Annotated[str | None, typer.Option(help="Currency (default: the case's own).")] = None,
    actor: ActorName = None,
    key: Key = None,
) -> None:
    """Offer the buyer a partial refund instead (they keep the item if they accept)."""
    _decide("offer_partial_refund", [case_id], actor, key, amount=amount, currency=currency)


@decide_app.command("keep-item")
def keep_item(case_ids: CaseRefs, actor: ActorName = None, key: Key = None) -> None:
    """Refund return-and-refund requests in full and let the buyer keep the item (no return shipping)."""
    _decide("refund_keep_item", case_ids, actor, key)


@decide_app.command("refund-instead")
def refund_instead(case_ids: CaseRefs, actor: ActorName = None, key: Key = None) -> None:
    """Answer replacement requests with a refund instead of a new item."""
    _decide("refund_instead", case_ids, actor, key)


@decide_app.command("approve-cancellation")
def approve_cancellation(case_ids: CaseRefs, actor: ActorName = None, key: Key = None) -> None:
    """Accept buyers' cancellation requests: the orders are cancelled and refunded."""
    _decide("approve_cancellation", case_ids, actor, key)


@decide_app.command("reject-cancellation")
def reject_cancellation(
    case_ids: CaseRefs, reason: Reason, comment: Comment = None, image: Images = None, actor: ActorName = None,
    key: Key = None,
) -> None:
    """Refuse buyers' cancellation requests (e.g. already packed) with one of TikTok's reasons."""
    _decide("reject_cancellation", case_ids, actor, key, reason=reason, comment=comment, image_paths=image)


@decide_app.command()
def reasons(case_id: OneCase) -> None:
    """List the reject reasons TikTok accepts for a case right now."""
    from returnbridge.sync.decisions import DecisionService

    runtime = _runtime()
    try:
        (resolved,) = _case_ids(runtime, [case_id])
        found = DecisionService(runtime).reject_reasons(resolved)
    finally:
        runtime.close()
    if not found:
        out.print(f"TikTok offers no reject reason for case {case_id} in its current status.")
        return
    for reason in found:
        out.print(f"{escape(reason.name)} - {escape(reason.text or '')}")


@decide_app.command()
def retry(
    older_than: Annotated[
        int, typer.Option(min=0, help="Only decisions whose last send is at least this many minutes old.")
    ] = 5,
) -> None:
    """Send again the decisions TikTok did not answer (the worker's sweep does this every few minutes)."""
    from datetime import timedelta

    from returnbridge.sync.decisions import DecisionService

    runtime = _runtime()
    try:
        outcomes = DecisionService(runtime).retry_unfinished(older_than=timedelta(minutes=older_than))
    finally:
        runtime.close()
    if not outcomes:
        out.print("No decision is waiting to be sent again.")
        return
    _print(outcomes)
    if not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(1)
