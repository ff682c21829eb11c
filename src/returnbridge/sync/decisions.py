"""Merchant decisions sent to TikTok: approve or reject a request or a received package, offer a partial refund,
refund while the buyer keeps the item, and approve or reject a buyer's cancellation.

One service for the web back-office, the JSON API, the CLI and the rules. What it guarantees:

- A decision that does not fit the case (kind, request type, current status, arbitration) or whose parameters are
  wrong (a reject reason TikTok does not offer for that very request, an amount out of range, a file that is not an
  image) is refused with a clear error before anything is written, uploaded or sent.
- The decision row and its idempotency key are committed before TikTok is called. The state moves pending → sent
  (attempts + 1 and sent_at, committed before every call) → done or failed. A process that dies at any line leaves
  the row pending or sent; ``retry_unfinished`` sends it again with the same key and the same body (evidence images
  are uploaded once, their uris kept in the row), so TikTok sees one decision.
- TikTok answering "already in that state" is resolved by reading the request back: done, with a text saying so.
- Every outcome appends a timeline event; every decision TikTok answered is followed by a re-pull of the case.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.exc import IntegrityError

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, Decision, utcnow
from returnbridge.db.repositories.decisions import DONE, FAILED, PENDING, SENT, UNFINISHED_STATES, DecisionRepository
from returnbridge.domain.currencies import minor_units
from returnbridge.domain.statuses import CaseKind, classify
from returnbridge.errors import UserFacingError
from returnbridge.tiktok import (
    BusinessError,
    CancellationFilters,
    NotFound,
    RejectReason,
    ReturnFilters,
    ShopClient,
    TikTokError,
    UnexpectedResponse,
    UploadedImage,
)
from returnbridge.tiktok.enums import CancelStatus, CancelType, ReturnStatus, ReturnType

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

REFUSED = "refused"  # an outcome only: refused before anything was written, so there is no row
# After this many sends without an answer the sweep stops and records the decision as failed.
MAX_ATTEMPTS = 8
DEFAULT_RETRY_AGE = timedelta(minutes=5)
# TikTok's limits for reject evidence (contract §3.4, 202606 text; older versions state none, the stricter holds).
MAX_COMMENT_CHARS = 500
MAX_IMAGES = 6
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # the image upload refuses larger files (36009021)
MAX_KEY_CHARS = 255


# --- vocabulary ------------------------------------------------------------------------------------------------


class DecisionAction(StrEnum):
    APPROVE_REQUEST = "approve_request"
    REJECT_REQUEST = "reject_request"
    APPROVE_PACKAGE = "approve_package"
    REJECT_PACKAGE = "reject_package"
    OFFER_PARTIAL_REFUND = "offer_partial_refund"
    REFUND_KEEP_ITEM = "refund_keep_item"
    REFUND_INSTEAD = "refund_instead"  # a replacement request answered with a refund
    APPROVE_CANCELLATION = "approve_cancellation"
    REJECT_CANCELLATION = "reject_cancellation"


class Actor(StrEnum):
    MERCHANT = "merchant"
    RULE = "rule"
    SYSTEM = "system"


# --- errors ----------------------------------------------------------------------------------------------------


class DecisionRefused(UserFacingError):
    """A decision refused before anything was written or sent; ``http_status`` is what the API answers."""

    http_status: ClassVar[int] = 422


class CaseNotFound(DecisionRefused):
    http_status = 404


class ActionNotAllowed(DecisionRefused):
    """The action does not fit the case's kind, request type or current status."""

    http_status = 409


class DecisionConflict(DecisionRefused):
    """Another decision on the case is still on its way, or the idempotency key belongs to another decision."""

    http_status = 409


class InvalidDecisionParams(DecisionRefused):
    http_status = 422


class InvalidRejectReason(InvalidDecisionParams):
    def __init__(self, message: str, valid: Sequence[RejectReason]) -> None:
        super().__init__(message)
        self.valid = list(valid)


class TikTokUnavailable(DecisionRefused):
    """TikTok did not answer a read needed to check the decision (reasons, image upload); nothing was sent."""

    http_status = 503


class TikTokRefused(DecisionRefused):
    """TikTok refused a read or upload needed before the decision; nothing was sent."""

    http_status = 409

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


# --- what each action is on TikTok -----------------------------------------------------------------------------

_APPROVE_RETURN, _REJECT_RETURN = "approve_return", "reject_return"
_APPROVE_CANCELLATION, _REJECT_CANCELLATION = "approve_cancellation", "reject_cancellation"

_R = ReturnStatus
_PAID = frozenset({_R.RETURN_OR_REFUND_REQUEST_SUCCESS, _R.RETURN_OR_REFUND_REQUEST_COMPLETE})
_PENDING = frozenset({_R.RETURN_OR_REFUND_REQUEST_PENDING})
_SHIPPED = frozenset({_R.BUYER_SHIPPED_ITEM})
_REPLACEMENT_PENDING = frozenset({_R.REPLACEMENT_REQUEST_PENDING})
_CANCEL_PENDING = frozenset({CancelStatus.CANCELLATION_REQUEST_PENDING})


@dataclass(frozen=True)
class Move:
    """One TikTok call for one request type: the ``decision`` value it sends (none for cancellations), the
    statuses it may be sent in, and the statuses that mean TikTok already shows what it asks for."""

    decision: str
    needs: frozenset[str]
    settled: frozenset[str]


@dataclass(frozen=True)
class ActionRule:
    action: DecisionAction
    label: str  # in the merchant's words, for messages and the timeline
    kind: CaseKind
    call: str
    moves: Mapping[str, Move]  # by TikTok request type (return_type / cancel_type)
    reason: bool = False  # needs a reject reason from TikTok's list for that very request
    evidence: bool = False  # takes a comment and images
    amount: bool = False
    buyer_keep_item: bool = False


_RULES: dict[DecisionAction, ActionRule] = {
    rule.action: rule
    for rule in (
        ActionRule(
            DecisionAction.APPROVE_REQUEST, "approve the request", CaseKind.RETURN, _APPROVE_RETURN,
            {
                ReturnType.REFUND: Move("APPROVE_REFUND", _PENDING, _PAID),
                ReturnType.RETURN_AND_REFUND: Move(
                    "APPROVE_RETURN", _PENDING,
                    _PAID | {_R.AWAITING_BUYER_SHIP, _R.BUYER_SHIPPED_ITEM, _R.REJECT_RECEIVE_PACKAGE},
                ),
                ReturnType.REPLACEMENT: Move(
                    "APPROVE_REPLACEMENT", _REPLACEMENT_PENDING, frozenset({_R.REPLACEMENT_REQUEST_COMPLETE})
                ),
            },
        ),
        ActionRule(
            DecisionAction.REJECT_REQUEST, "reject the request", CaseKind.RETURN, _REJECT_RETURN,
            {
                ReturnType.REFUND: Move("REJECT_REFUND", _PENDING, frozenset({_R.REFUND_OR_RETURN_REQUEST_REJECT})),
                ReturnType.RETURN_AND_REFUND: Move(
                    "REJECT_RETURN", _PENDING, frozenset({_R.REFUND_OR_RETURN_REQUEST_REJECT})
                ),
                ReturnType.REPLACEMENT: Move(
                    "REJECT_REPLACEMENT", _REPLACEMENT_PENDING, frozenset({_R.REPLACEMENT_REQUEST_REJECT})
                ),
            },
            reason=True, evidence=True,
        ),
        ActionRule(
            DecisionAction.APPROVE_PACKAGE, "approve the received package", CaseKind.RETURN, _APPROVE_RETURN,
            {ReturnType.RETURN_AND_REFUND: Move("APPROVE_RECEIVED_PACKAGE", _SHIPPED, _PAID)},
        ),
        ActionRule(
            DecisionAction.REJECT_PACKAGE, "reject the received package", CaseKind.RETURN, _REJECT_RETURN,
            {
                ReturnType.RETURN_AND_REFUND: Move(
                    "REJECT_RECEIVED_PACKAGE", _SHIPPED, frozenset({_R.REJECT_RECEIVE_PACKAGE})
                )
            },
            reason=True, evidence=True,
        ),
        ActionRule(
            DecisionAction.OFFER_PARTIAL_REFUND, "offer a partial refund", CaseKind.RETURN, _APPROVE_RETURN,
            {
                request_type: Move("OFFER_PARTIAL_REFUND", _PENDING, _PAID | {_R.AWAITING_BUYER_RESPONSE})
                for request_type in (ReturnType.REFUND, ReturnType.RETURN_AND_REFUND)
            },
            amount=True,
        ),
        ActionRule(
            # A refund-only request already lets the buyer keep the item: this is for return-and-refund requests.
            DecisionAction.REFUND_KEEP_ITEM, "refund and let the buyer keep the item", CaseKind.RETURN,
            _APPROVE_RETURN,
            {ReturnType.RETURN_AND_REFUND: Move("APPROVE_RETURN", _PENDING, _PAID)},
            buyer_keep_item=True,
        ),
        ActionRule(
            DecisionAction.REFUND_INSTEAD, "refund instead of sending a replacement", CaseKind.RETURN, _APPROVE_RETURN,
            {
                ReturnType.REPLACEMENT: Move(
                    "ISSUE_REPLACEMENT_REFUND", _REPLACEMENT_PENDING,
                    frozenset({_R.REPLACEMENT_REQUEST_REFUND_SUCCESS}),
                )
            },
        ),
        ActionRule(
            DecisionAction.APPROVE_CANCELLATION, "approve the cancellation", CaseKind.CANCELLATION,
            _APPROVE_CANCELLATION,
            {
                CancelType.BUYER_CANCEL: Move(
                    "", _CANCEL_PENDING,
                    frozenset({CancelStatus.CANCELLATION_REQUEST_SUCCESS, CancelStatus.CANCELLATION_REQUEST_COMPLETE}),
                )
            },
        ),
        ActionRule(
            DecisionAction.REJECT_CANCELLATION, "reject the cancellation", CaseKind.CANCELLATION,
            _REJECT_CANCELLATION,
            {
                CancelType.BUYER_CANCEL: Move(
                    "", _CANCEL_PENDING,
                    frozenset({CancelStatus.CANCELLATION_REQUEST_CANCEL, CancelStatus.CANCELLATION_REQUEST_CANCELLED}),
                )
            },
            reason=True, evidence=True,
        ),
    )
}


def rule_for(action: DecisionAction | str) -> ActionRule:
    """The rule of an action by its name; an unknown name is refused with the list of known ones."""
    try:
        return _RULES[DecisionAction(action)]
    except ValueError:
        known = ", ".join(a.value for a in DecisionAction)
        raise InvalidDecisionParams(f"unknown decision {action!r}: choose one of {known}") from None


# --- input -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceImage:
    """An evidence photo as the merchant gave it (a file); uploaded to TikTok only once the decision is valid."""

    filename: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class DecisionParams:
    reason: str | None = None  # a reject reason name (or its text) from TikTok's list for the request
    comment: str | None = None
    images: tuple[EvidenceImage, ...] = ()
    amount: Decimal | None = None
    currency: str | None = None  # defaults to the case's currency

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> DecisionParams:
        """Parameters from JSON: ``reason``, ``comment``, ``amount`` (a decimal string; a float is refused
        because it cannot carry money exactly) and ``currency``. Images come as files, not JSON."""
        if data is None:
            return cls()
        known = ("reason", "comment", "amount", "currency")
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InvalidDecisionParams(f"unknown decision parameter(s) {', '.join(unknown)}: use {', '.join(known)}")
        for name in ("reason", "comment", "currency"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise InvalidDecisionParams(f"{name} must be a string")
        amount = data.get("amount")
        return cls(
            reason=data.get("reason"),
            comment=data.get("comment"),
            amount=None if amount is None else parse_amount(amount),
            currency=data.get("currency"),
        )


def parse_amount(value: object) -> Decimal:
    """A money amount from text ("12.34"), an int or a Decimal; floats are refused (binary floats are not cents)."""
    if isinstance(value, bool | float) or not isinstance(value, str | int | Decimal):
        raise InvalidDecisionParams(f'the amount must be a decimal number written as text, like "12.34"; got {value!r}')
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise InvalidDecisionParams(f"the amount must be a decimal number like 12.34; got {value!r}") from None
    if not amount.is_finite():
        raise InvalidDecisionParams(f"the amount must be a decimal number like 12.34; got {value!r}")
    return amount


# --- output ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionOutcome:
    """What became of one decision: ``state`` is done, failed, sent / pending (kept for the sweep) or refused."""

    case_id: int
    action: str
    state: str
    message: str
    decision_id: int | None = None
    tiktok_id: str = ""
    idempotency_key: str = ""
    error_code: int | None = None
    already_so: bool = False  # TikTok already showed the outcome (or had moved on); nothing new was applied
    refreshed: bool = False  # the case was re-pulled from TikTok afterwards

    @property
    def ok(self) -> bool:
        return self.state == DONE

    @property
    def unfinished(self) -> bool:
        return self.state in UNFINISHED_STATES


# --- internals -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CaseFacts:
    id: int
    account_id: int
    kind: str
    tiktok_id: str
    type: str
    tiktok_status: str
    arbitration_status: str
    currency: str
    refund_total: Decimal | None

    @classmethod
    def of(cls, case: Case) -> _CaseFacts:
        return cls(
            case.id, case.account_id, case.kind, case.tiktok_id, case.type, case.tiktok_status,
            case.arbitration_status, case.currency, case.refund_total,
        )


@dataclass(frozen=True)
class _Claim:
    """A decision taken for one send: everything the call needs, read from the committed row."""

    decision_id: int
    case: _CaseFacts
    rule: ActionRule
    params: dict[str, Any]
    key: str
    attempts: int


@dataclass
class _Batch:
    """Per call of the service: one shop client per account, evidence uploaded once per shop."""

    runtime: Runtime
    shops: dict[int, ShopClient] = field(default_factory=dict)
    uploads: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def shop(self, account_id: int) -> ShopClient:
        if account_id not in self.shops:
            self.shops[account_id] = self.runtime.shop_client(account_id)
        return self.shops[account_id]


def repull_with_ingest(runtime: Runtime) -> Callable[[int], object]:
    """The default re-pull after a decision: ``sync.ingest.refresh_case``."""

    def refresh(case_id: int) -> object:
        # Imported when used: ingest is built alongside this module and must not be needed to import it.
        from returnbridge.sync.ingest import refresh_case

        return refresh_case(runtime, case_id)

    return refresh


def _status_text(kind: str, status: str) -> str:
    info = classify(CaseKind(kind), status)
    return f"{status or 'unknown'} ({info.store_status.value})"


def _fit(rule: ActionRule, case: _CaseFacts) -> Move:
    """The move for this case, or ``ActionNotAllowed`` saying why the action does not fit it."""
    if case.kind != rule.kind.value:
        raise ActionNotAllowed(f"case {case.id} is a {case.kind}; '{rule.label}' applies to {rule.kind.value}s only")
    move = rule.moves.get(case.type)
    if move is None:
        types = " or ".join(rule.moves)
        raise ActionNotAllowed(
            f"case {case.id} is a {case.type or 'request of unknown type'} request; '{rule.label}' applies to "
            f"{types} requests only"
        )
    if case.arbitration_status == "IN_PROGRESS":
        raise ActionNotAllowed(f"case {case.id} is in arbitration with TikTok: no decision can be sent until it rules")
    if case.tiktok_status not in move.needs:
        raise ActionNotAllowed(
            f"case {case.id} is {_status_text(case.kind, case.tiktok_status)} on TikTok; '{rule.label}' needs "
            f"{' or '.join(sorted(move.needs))}"
        )
    return move


def allowed_actions(case: Case) -> list[ActionRule]:
    """The actions that fit the case now (kind, request type, TikTok status, arbitration), in the rules' order.

    What the back-office offers: the very check ``decide`` makes first, so a button shown is one the service takes
    (TikTok may still refuse, or the case may have moved on since the page was drawn).
    """
    facts = _CaseFacts.of(case)
    allowed = []
    for rule in _RULES.values():
        try:
            _fit(rule, facts)
        except ActionNotAllowed:
            continue
        allowed.append(rule)
    return allowed


def _check_unexpected(rule: ActionRule, params: DecisionParams) -> None:
    # A parameter the action ignores is almost always a mistake (the wrong command, a misplaced field): say so.
    if params.reason and not rule.reason:
        raise InvalidDecisionParams(f"'{rule.label}' takes no reason")
    if (params.comment or params.images) and not rule.evidence:
        raise InvalidDecisionParams(f"'{rule.label}' takes no comment or images")
    if (params.amount is not None or params.currency) and not rule.amount:
        raise InvalidDecisionParams(f"'{rule.label}' takes no amount")


def _partial_refund(params: DecisionParams, case: _CaseFacts) -> dict[str, str]:
    amount = params.amount
    if amount is None:
        raise InvalidDecisionParams("a partial refund needs an amount, like 12.34")
    amount = parse_amount(amount)
    if not case.currency:
        raise InvalidDecisionParams(f"the currency of case {case.id} is not known yet: sync the case first")
    currency = (params.currency or case.currency).strip().upper()
    if currency != case.currency:
        raise InvalidDecisionParams(
            f"the partial refund must be in the case's currency {case.currency}, not {currency}"
        )
    if amount <= 0:
        raise InvalidDecisionParams(f"the partial refund must be more than 0 {currency}; got {amount}")
    places = minor_units(currency)
    quantum = Decimal(1).scaleb(-places)
    if amount != amount.quantize(quantum):
        raise InvalidDecisionParams(f"{amount} {currency} has more decimals than {currency} allows ({places})")
    if case.refund_total is None:
        raise InvalidDecisionParams(f"the refundable total of case {case.id} is not known yet: sync the case first")
    if amount > case.refund_total:
        # In the currency's own decimals ("33.20 USD"): the stored amount comes back without trailing zeros.
        total = case.refund_total
        shown = total.quantize(quantum) if total == total.quantize(quantum) else total
        raise InvalidDecisionParams(
            f"the partial refund {amount} {currency} is more than the refundable total {shown} {currency}"
        )
    return {"amount": format(amount.quantize(quantum), "f"), "currency": currency}


def _comment(params: DecisionParams) -> str:
    comment = (params.comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidDecisionParams(
            f"the comment is {len(comment)} characters; TikTok takes at most {MAX_COMMENT_CHARS}"
        )
    return comment


_IMAGE_SIGNATURES = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"))


def _is_image(data: bytes) -> bool:
    if any(data.startswith(signature) for signature, _ in _IMAGE_SIGNATURES):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _check_images(images: Sequence[EvidenceImage]) -> None:
    if len(images) > MAX_IMAGES:
        raise InvalidDecisionParams(f"{len(images)} images given; TikTok takes at most {MAX_IMAGES}")
    for image in images:
        if not image.data:
            raise InvalidDecisionParams(f"{image.filename} is empty")
        if len(image.data) > MAX_IMAGE_BYTES:
            raise InvalidDecisionParams(f"{image.filename} is larger than TikTok's 5 MB limit for images")
        if not _is_image(image.data):
            raise InvalidDecisionParams(f"{image.filename} is not a JPEG, PNG, GIF or WebP image")


def check_evidence_images(images: Sequence[EvidenceImage]) -> None:
    """Refuse evidence TikTok would refuse (more than 6 files, over 5 MB, empty, not a JPEG, PNG, GIF or WebP by
    its content): lets an upload form answer before the decision is even prepared."""
    _check_images(images)


def _reason_list(reasons: Sequence[RejectReason]) -> str:
    return "; ".join(f"{r.name} ({r.text})" if r.text else r.name for r in reasons)


def _choose_reason(wanted: str | None, reasons: Sequence[RejectReason], case: _CaseFacts) -> RejectReason:
    if not reasons:
        raise ActionNotAllowed(
            f"TikTok offers no reject reason for case {case.id} right now: its status on TikTok may have changed; "
            "sync the case and try again"
        )
    wanted = (wanted or "").strip()
    if not wanted:
        raise InvalidRejectReason(f"rejecting case {case.id} needs a reason; TikTok accepts: {_reason_list(reasons)}",
                                  reasons)
    for reason in reasons:
        if reason.name == wanted:
            return reason
    # The back-office shows the texts, so a merchant may type one; it stands for its name.
    for reason in reasons:
        if reason.text and reason.text.casefold() == wanted.casefold():
            return reason
    raise InvalidRejectReason(
        f"{wanted!r} is not a reject reason TikTok accepts for case {case.id} now; choose one of: "
        f"{_reason_list(reasons)}",
        reasons,
    )


def _check_key(key: str | None) -> str:
    if key is None:
        return f"rb-{uuid.uuid4()}"
    if not key or len(key) > MAX_KEY_CHARS or key.strip() != key or not key.isprintable():
        raise InvalidDecisionParams(
            f"an idempotency key must be 1 to {MAX_KEY_CHARS} printable characters without surrounding spaces"
        )
    return key


def _check_actor(actor: str) -> str:
    try:
        return Actor(actor).value
    except ValueError:
        raise InvalidDecisionParams(
            f"unknown actor {actor!r}: one of {', '.join(a.value for a in Actor)}"
        ) from None


def _image_record(image: UploadedImage) -> dict[str, Any]:
    # Everything the reject body is built from, so a retry sends the very same body (the key replays only then).
    return {
        "uri": image.uri, "url": image.url, "width": image.width, "height": image.height,
        "mime_type": image.mime_type, "use_case": image.use_case,
    }


def _tiktok_read(call: Callable[[], Any], what: str) -> Any:
    """A TikTok read or upload made before the decision is written: its failure refuses the decision."""
    try:
        return call()
    except TikTokError as error:
        if error.retryable:
            raise TikTokUnavailable(
                f"TikTok did not answer when asked to {what} ({error.message}, code {error.code}); nothing was "
                "sent: try again shortly"
            ) from error
        raise TikTokRefused(
            f"TikTok refused to {what}: {error.message} (code {error.code}); nothing was sent", error.code
        ) from error


# --- the service -----------------------------------------------------------------------------------------------


class DecisionService:
    """Decides cases on TikTok for the web UI, the JSON API, the CLI and the rules.

    ``refresh(case_id)`` re-pulls a case from TikTok after every decision TikTok answered; by default
    ``sync.ingest.refresh_case``. Services never commit for their caller: each step below is its own unit of work,
    because the point is that the row is committed before TikTok is called.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        refresh: Callable[[int], object] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.runtime = runtime
        self._refresh = refresh if refresh is not None else repull_with_ingest(runtime)
        self.max_attempts = max_attempts

    # --- public ----------------------------------------------------------------------------------------------

    def reject_reasons(self, case_id: int) -> list[RejectReason]:
        """The reject reasons TikTok offers for this case right now (they depend on its type and status)."""
        case = self._case(case_id)
        shop = self.runtime.shop_client(case.account_id)
        reasons: list[RejectReason] = _tiktok_read(
            lambda: shop.get_reject_reasons(case.tiktok_id), f"list the reject reasons of case {case_id}"
        )
        return reasons

    def decide(
        self,
        case_id: int,
        action: DecisionAction | str,
        params: DecisionParams | Mapping[str, Any] | None = None,
        *,
        actor: str,
        actor_name: str,
        idempotency_key: str | None = None,
    ) -> DecisionOutcome:
        """Record the decision, send it to TikTok and report what became of it.

        Raises a ``DecisionRefused`` (nothing written or sent) when the decision does not fit the case or its
        parameters are wrong. Once written, the outcome is returned, never raised: done, failed (TikTok refused),
        or sent/pending (TikTok did not answer; the sweep sends it again with the same key). The same
        ``idempotency_key`` twice gives the first decision's outcome, without a second call.
        """
        rule = rule_for(action)
        return self._decide(_Batch(self.runtime), case_id, rule, _params(params), _check_actor(actor), actor_name,
                            _check_key(idempotency_key))

    def decide_many(
        self,
        case_ids: Sequence[int],
        action: DecisionAction | str,
        params: DecisionParams | Mapping[str, Any] | None = None,
        *,
        actor: str,
        actor_name: str,
        idempotency_key: str | None = None,
    ) -> list[DecisionOutcome]:
        """The same decision on several cases, one outcome per case in the given order (duplicates once).

        A case that is refused gets an outcome with state ``refused`` and the reason; the others go on. Evidence
        images are uploaded once per shop. With ``idempotency_key``, each case's key is ``<key>:<case id>``.
        """
        rule = rule_for(action)
        parsed, actor = _params(params), _check_actor(actor)
        if idempotency_key is not None:
            _check_key(idempotency_key)
        batch = _Batch(self.runtime)
        outcomes = []
        for case_id in dict.fromkeys(case_ids):
            key = _check_key(None if idempotency_key is None else f"{idempotency_key}:{case_id}")
            try:
                outcomes.append(self._decide(batch, case_id, rule, parsed, actor, actor_name, key))
            except UserFacingError as refused:
                outcomes.append(DecisionOutcome(case_id, rule.action.value, REFUSED, str(refused)))
        return outcomes

    def retry_unfinished(
        self, older_than: timedelta = DEFAULT_RETRY_AGE, *, limit: int = 100
    ) -> list[DecisionOutcome]:
        """The periodic sweep: send again every decision left pending or sent (a crash, a TikTok outage) whose last
        send is at least ``older_than`` ago, with its stored key and parameters (images are not uploaded again)."""
        cutoff = utcnow() - older_than
        with transaction(self.runtime.sessions) as session:
            due = DecisionRepository(session).due_for_retry(cutoff, limit)
        batch = _Batch(self.runtime)
        outcomes = []
        for decision_id in due:
            try:
                outcomes.append(self._send(batch, decision_id, cutoff=cutoff))
            except CaseNotFound:  # its case was deleted since the listing (the decision went with it)
                continue
            except DecisionRefused:  # a row this version cannot read must not hold up the ones behind it
                log.exception("decision %s cannot be sent again", decision_id)
        return outcomes

    # --- before anything is written --------------------------------------------------------------------------

    def _decide(
        self, batch: _Batch, case_id: int, rule: ActionRule, params: DecisionParams, actor: str, actor_name: str,
        key: str,
    ) -> DecisionOutcome:
        earlier = self._by_key(key, case_id, rule)
        if earlier is not None:
            return earlier
        case, stored = self._prepare(batch, case_id, rule, params)
        recorded = self._record(case, rule, stored, key, actor, actor_name)
        if isinstance(recorded, DecisionOutcome):
            return recorded
        return self._send(batch, recorded)

    def _case(self, case_id: int) -> _CaseFacts:
        with transaction(self.runtime.sessions) as session:
            case = DecisionRepository(session).case(case_id)
            if case is None:
                raise CaseNotFound(f"case {case_id} does not exist")
            return _CaseFacts.of(case)

    def _prepare(
        self, batch: _Batch, case_id: int, rule: ActionRule, params: DecisionParams
    ) -> tuple[_CaseFacts, dict[str, Any]]:
        """Check everything that can be checked, then fetch TikTok's reasons and upload the evidence; nothing
        is written. The result is the decision's stored parameters: the body of every send is rebuilt from them."""
        case = self._case(case_id)
        move = _fit(rule, case)
        _check_unexpected(rule, params)
        stored: dict[str, Any] = {"tiktok_decision": move.decision} if move.decision else {}
        if rule.amount:
            stored.update(_partial_refund(params, case))
        if rule.buyer_keep_item:
            stored["buyer_keep_item"] = True
        comment = _comment(params) if rule.evidence else ""
        if rule.evidence:
            _check_images(params.images)
        shop = batch.shop(case.account_id)
        if rule.reason:
            reasons = _tiktok_read(
                lambda: shop.get_reject_reasons(case.tiktok_id), f"list the reject reasons of case {case.id}"
            )
            chosen = _choose_reason(params.reason, reasons, case)
            stored["reason"] = chosen.name
            stored["reason_text"] = chosen.text or ""
        if comment:
            stored["comment"] = comment
        if params.images:
            stored["images"] = self._upload(batch, shop, case.account_id, params.images)
        return case, stored

    def _upload(
        self, batch: _Batch, shop: ShopClient, account_id: int, images: Sequence[EvidenceImage]
    ) -> list[dict[str, Any]]:
        if account_id not in batch.uploads:
            batch.uploads[account_id] = [
                _image_record(
                    _tiktok_read(
                        lambda image=image: shop.upload_image(image.data, filename=image.filename),
                        f"upload {image.filename}",
                    )
                )
                for image in images
            ]
        return batch.uploads[account_id]

    def _by_key(self, key: str, case_id: int, rule: ActionRule) -> DecisionOutcome | None:
        with transaction(self.runtime.sessions) as session:
            repo = DecisionRepository(session)
            decision = repo.by_key(key)
            if decision is None:
                return None
            return _existing(decision, case_id, rule, repo)

    def _record(
        self, case: _CaseFacts, rule: ActionRule, stored: dict[str, Any], key: str, actor: str, actor_name: str
    ) -> int | DecisionOutcome:
        """Commit the decision row (state pending) with its key; the TikTok call comes only after this."""
        try:
            with transaction(self.runtime.sessions) as session:
                repo = DecisionRepository(session)
                row = repo.case(case.id, for_update=True)
                if row is None:
                    raise CaseNotFound(f"case {case.id} does not exist")
                # The case may have moved while TikTok was asked for reasons: check again under the lock.
                _fit(rule, _CaseFacts.of(row))
                earlier = repo.by_key(key)
                if earlier is not None:
                    return _existing(earlier, case.id, rule, repo)
                busy = repo.unfinished_for_case(case.id)
                if busy is not None:
                    raise DecisionConflict(
                        f"case {case.id} already has decision #{busy.id} ({busy.action}) on its way to TikTok; it "
                        "is retried automatically, so a second one is not sent"
                    )
                return repo.add(
                    case_id=case.id, action=rule.action.value, params=stored, idempotency_key=key, actor=actor,
                    actor_name=actor_name,
                ).id
        except IntegrityError:
            # The same key committed by a concurrent request an instant earlier: that decision is this one.
            outcome = self._by_key(key, case.id, rule)
            if outcome is None:
                raise
            return outcome

    # --- sending ---------------------------------------------------------------------------------------------

    def _send(self, batch: _Batch, decision_id: int, *, cutoff: datetime | None = None) -> DecisionOutcome:
        account_id = self._account_of(decision_id)
        try:
            shop = batch.shop(account_id)
        except UserFacingError as unavailable:  # the shop was disconnected: the decision cannot be sent any more
            return self._finish(decision_id, FAILED, f"Not sent: {unavailable}")
        claim = self._claim(decision_id, cutoff)
        if isinstance(claim, DecisionOutcome):
            return claim
        try:
            self._call(shop, claim)
        except BusinessError as refused:
            if refused.already_in_that_state:
                return self._after(self._resolve_already(shop, claim, refused), claim.case.id)
            return self._after(self._refused(claim, refused), claim.case.id)
        except NotFound as refused:
            return self._after(self._refused(claim, refused), claim.case.id)
        except UnexpectedResponse as unclear:
            # An answer we cannot read may hide an applied write; the same key makes sending it again safe.
            return self._keep_for_retry(claim, unclear)
        except TikTokError as error:
            if error.retryable:
                return self._keep_for_retry(claim, error)
            return self._refused(claim, error)  # credentials, scope, quota: TikTok did not look at the request
        except UserFacingError as unavailable:  # the token could not be renewed mid-send
            return self._finish(decision_id, FAILED, f"Not sent: {unavailable}")
        accepted = f"TikTok accepted: {claim.rule.label}"
        if claim.attempts > 1:
            accepted += f" (sent {claim.attempts} times, decided once)"
        return self._after(self._finish(decision_id, DONE, accepted), claim.case.id)

    def _account_of(self, decision_id: int) -> int:
        with transaction(self.runtime.sessions) as session:
            repo = DecisionRepository(session)
            decision = repo.get(decision_id)
            case = repo.case(decision.case_id) if decision is not None else None
            if decision is None or case is None:
                raise CaseNotFound(f"decision {decision_id} no longer exists")
            return case.account_id

    def _claim(self, decision_id: int, cutoff: datetime | None) -> _Claim | DecisionOutcome:
        """Mark the decision sent (attempts + 1, sent_at) and commit, or say why it is not to be sent now."""
        with transaction(self.runtime.sessions) as session:
            repo = DecisionRepository(session)
            decision = repo.get(decision_id, for_update=True)
            case = repo.case(decision.case_id) if decision is not None else None
            if decision is None or case is None:
                raise CaseNotFound(f"decision {decision_id} no longer exists")
            if decision.state not in UNFINISHED_STATES:
                return _outcome(decision, case)
            if cutoff is not None and decision.sent_at is not None and decision.sent_at > cutoff:
                return _outcome(decision, case)  # another worker sent it moments ago
            if decision.attempts >= self.max_attempts:
                self._close(repo, decision, case, FAILED,
                            f"Gave up after {decision.attempts} attempts; last: {decision.result}", decision.error_code)
                return _outcome(decision, case)
            repo.mark_sent(decision, utcnow())
            return _Claim(decision.id, _CaseFacts.of(case), rule_for(decision.action), dict(decision.params),
                          decision.idempotency_key, decision.attempts)

    @staticmethod
    def _call(shop: ShopClient, claim: _Claim) -> None:
        params, key, tiktok_id = claim.params, claim.key, claim.case.tiktok_id
        images = [UploadedImage.model_validate(image) for image in params.get("images", [])]
        call = claim.rule.call
        if call == _APPROVE_RETURN:
            shop.approve_return(
                tiktok_id,
                decision=params["tiktok_decision"],
                buyer_keep_item=True if params.get("buyer_keep_item") else None,
                partial_refund=(Decimal(params["amount"]), params["currency"]) if "amount" in params else None,
                idempotency_key=key,
            )
        elif call == _REJECT_RETURN:
            shop.reject_return(
                tiktok_id, decision=params["tiktok_decision"], reject_reason=params["reason"],
                comment=params.get("comment"), images=images, idempotency_key=key,
            )
        elif call == _APPROVE_CANCELLATION:
            shop.approve_cancellation(tiktok_id, idempotency_key=key)
        elif call == _REJECT_CANCELLATION:
            shop.reject_cancellation(
                tiktok_id, reject_reason=params["reason"], comment=params.get("comment"), images=images,
                idempotency_key=key,
            )
        else:  # pragma: no cover - the rules table names only the four calls above
            raise AssertionError(f"unknown call {call}")

    def _resolve_already(self, shop: ShopClient, claim: _Claim, answer: BusinessError) -> DecisionOutcome:
        """TikTok says the request is already past this decision: read it back and record what it shows."""
        try:
            status = self._read_status(shop, claim.case)
        except TikTokError as unreadable:
            return self._keep_for_retry(claim, unreadable, f"TikTok answered {answer.code} and the request could "
                                                           "not be read back")
        if status is None:
            return self._finish(claim.decision_id, FAILED, f"TikTok answered {answer.code} ({answer.message}) and no "
                                                           "longer lists the request", answer.code)
        shown = _status_text(claim.case.kind, status)
        move = claim.rule.moves.get(claim.case.type)
        if move is not None and status in move.settled:
            text = f"Already so on TikTok: the request is {shown}"
        else:
            text = (f"Already decided on TikTok: the request is {shown}, so '{claim.rule.label}' was not applied "
                    f"(TikTok answered {answer.code}: {answer.message})")
        return self._finish(claim.decision_id, DONE, text, already_so=True, to_status=status)

    @staticmethod
    def _read_status(shop: ShopClient, case: _CaseFacts) -> str | None:
        if case.kind == CaseKind.CANCELLATION.value:
            cancellations = shop.search_cancellations(CancellationFilters(cancel_ids=[case.tiktok_id]), page_size=10)
            found = [c.cancel_status for c in cancellations.cancellations if c.cancel_id == case.tiktok_id]
        else:
            returns = shop.search_returns(ReturnFilters(return_ids=[case.tiktok_id]), page_size=10)
            found = [r.return_status for r in returns.return_orders if r.return_id == case.tiktok_id]
        return (found[0] or "") if found else None

    def _refused(self, claim: _Claim, error: TikTokError) -> DecisionOutcome:
        return self._finish(claim.decision_id, FAILED, f"TikTok refused: {error.message} (code {error.code})",
                            error.code)

    def _keep_for_retry(self, claim: _Claim, error: TikTokError, what: str = "") -> DecisionOutcome:
        why = what or f"TikTok did not answer ({error.message}, code {error.code})"
        text = f"{why}; kept and sent again automatically with the same key"
        with transaction(self.runtime.sessions) as session:
            repo = DecisionRepository(session)
            decision = repo.get(claim.decision_id, for_update=True)
            case = repo.case(claim.case.id)
            if decision is None or case is None:
                raise CaseNotFound(f"decision {claim.decision_id} no longer exists")
            if decision.state in UNFINISHED_STATES:
                repo.note_unfinished(decision, text, error.code)
                _event(repo, decision, case, "retrying")
            return _outcome(decision, case)

    def _finish(
        self, decision_id: int, state: str, result: str, error_code: int | None = None, *, already_so: bool = False,
        to_status: str = "",
    ) -> DecisionOutcome:
        with transaction(self.runtime.sessions) as session:
            repo = DecisionRepository(session)
            decision = repo.get(decision_id, for_update=True)
            case = repo.case(decision.case_id) if decision is not None else None
            if decision is None or case is None:
                raise CaseNotFound(f"decision {decision_id} no longer exists")
            closed = decision.state in UNFINISHED_STATES
            if closed:  # else a concurrent send finished it first, and its record stands
                self._close(repo, decision, case, state, result, error_code, to_status)
            return dataclasses.replace(_outcome(decision, case), already_so=already_so and closed)

    @staticmethod
    def _close(
        repo: DecisionRepository, decision: Decision, case: Case, state: str, result: str, error_code: int | None,
        to_status: str = "",
    ) -> None:
        repo.finish(decision, state, result, utcnow(), error_code)
        _event(repo, decision, case, state, to_status)

    def _after(self, outcome: DecisionOutcome, case_id: int) -> DecisionOutcome:
        """Re-pull the case TikTok just answered about; a failing re-pull never undoes the decision."""
        try:
            self._refresh(case_id)
        except Exception:  # the poll catches the case up later; the decision itself is recorded either way
            log.warning("re-pull of case %s after decision %s failed", case_id, outcome.decision_id, exc_info=True)
            return outcome
        return dataclasses.replace(outcome, refreshed=True)


def _params(params: DecisionParams | Mapping[str, Any] | None) -> DecisionParams:
    if isinstance(params, DecisionParams):
        return params
    return DecisionParams.from_mapping(params)


def _existing(decision: Decision, case_id: int, rule: ActionRule, repo: DecisionRepository) -> DecisionOutcome:
    if decision.case_id != case_id or decision.action != rule.action.value:
        raise DecisionConflict(
            f"idempotency key {decision.idempotency_key!r} already belongs to decision #{decision.id} "
            f"({decision.action} on case {decision.case_id})"
        )
    case = repo.case(decision.case_id)
    assert case is not None  # the decision row references it (ON DELETE CASCADE)
    return _outcome(decision, case)


_WAITING_TEXT = {PENDING: "Recorded; not sent to TikTok yet", SENT: "Sent to TikTok; no answer recorded yet"}


def _outcome(decision: Decision, case: Case) -> DecisionOutcome:
    return DecisionOutcome(
        case_id=decision.case_id,
        action=decision.action,
        state=decision.state,
        message=decision.result or _WAITING_TEXT.get(decision.state, decision.state),
        decision_id=decision.id,
        tiktok_id=case.tiktok_id,
        idempotency_key=decision.idempotency_key,
        error_code=decision.error_code,
    )


def _event(repo: DecisionRepository, decision: Decision, case: Case, outcome: str, to_status: str = "") -> None:
    repo.append_event(
        case_id=case.id,
        at=utcnow(),
        actor=decision.actor,
        actor_name=decision.actor_name,
        kind="decision",
        from_status=case.tiktok_status,
        to_status=to_status,
        detail={
            "decision_id": decision.id,
            "action": decision.action,
            "label": rule_for(decision.action).label,
            "params": decision.params,
            "outcome": outcome,
            "result": decision.result,
            "error_code": decision.error_code,
            "attempts": decision.attempts,
        },
        dedupe_key=f"decision:{decision.id}:{outcome}",
    )
