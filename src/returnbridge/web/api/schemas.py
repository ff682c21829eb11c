"""The JSON shapes of ``/api/v1/`` cases. Money is always a decimal string with its currency, never a number: a
JSON number is a binary float in most clients and cannot carry cents exactly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from returnbridge.sync.decisions import MAX_COMMENT_CHARS, MAX_IMAGES, DecisionOutcome
from returnbridge.web.bulk_decisions import MAX_BULK_CASES
from returnbridge.web.case_actions import MAX_NOTE_CHARS, ResyncResult
from returnbridge.web.case_detail import CaseDetail, EventView, Money
from returnbridge.web.row_ids import RowIdItem


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MoneyOut(BaseModel):
    amount: str | None = Field(description='Decimal string, e.g. "12.30" (or "1200" for JPY); null when TikTok '
                                           "did not send it")
    currency: str

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=money.value, currency=money.currency)


class AmountOut(MoneyOut):
    key: str = Field(description="TikTok's component: refund_subtotal, refund_shipping_fee, refund_tax, ...")
    label: str


class LineOut(BaseModel):
    tiktok_line_id: str
    order_line_item_id: str
    sku_id: str
    seller_sku: str
    product_name: str
    sku_name: str
    image_url: str
    refund_total: MoneyOut
    refund_subtotal: MoneyOut
    refund_shipping_fee: MoneyOut
    refund_tax: MoneyOut


class TextOut(BaseModel):
    label: str
    text: str


class VideoOut(BaseModel):
    url: str
    cover: str


class LinkOut(BaseModel):
    url: str
    label: str


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str = Field(description="status_change, arbitration, tiktok_record, decision, store_effect, note, ...")
    actor: str = Field(description="buyer, seller, tiktok, merchant, rule or system")
    actor_name: str = Field(description="For merchant events, the user's e-mail")
    title: str
    from_status: str
    to_status: str
    texts: list[TextOut]
    images: list[str]
    videos: list[VideoOut]
    link: LinkOut | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: EventView) -> EventOut:
        return cls(
            id=event.id, at=event.at, kind=event.kind, actor=event.actor, actor_name=event.actor_name,
            title=event.title, from_status=event.from_status, to_status=event.to_status,
            texts=[TextOut(label=label, text=text) for label, text in event.texts], images=event.images,
            videos=[VideoOut(url=v.url, cover=v.cover) for v in event.videos],
            link=LinkOut(url=event.link.url, label=event.link.label) if event.link else None, detail=event.detail,
        )


class ActionOut(BaseModel):
    action: str = Field(description="The value to send as `action` to POST /api/v1/cases/{id}/decisions")
    label: str
    needs_reason: bool
    takes_evidence: bool
    takes_amount: bool


class ShopOut(BaseModel):
    account_id: int
    name: str
    region: str


class CaseOut(BaseModel):
    id: int
    kind: str = Field(description="return or cancellation")
    tiktok_id: str = Field(description="TikTok's return_id or cancel_id")
    order_id: str
    type: str
    tiktok_status: str
    store_status: str
    arbitration_status: str
    reason_name: str
    reason_text: str
    needs_action: bool
    seller_deadline: datetime | None
    shop: ShopOut
    refund_total: MoneyOut
    amounts: list[AmountOut]
    lines: list[LineOut]
    timeline: list[EventOut] = Field(description="Oldest first")
    allowed_actions: list[ActionOut] = Field(description="Decisions the case takes now (empty while one is on its "
                                                         "way to TikTok)")
    decision_on_its_way: str

    @classmethod
    def of(cls, case: CaseDetail) -> CaseOut:
        return cls(
            id=case.id, kind=case.kind, tiktok_id=case.tiktok_id, order_id=case.order_id, type=case.type,
            tiktok_status=case.tiktok_status, store_status=case.store_status,
            arbitration_status=case.arbitration_status, reason_name=case.reason_name, reason_text=case.reason_text,
            needs_action=case.needs_action, seller_deadline=case.seller_deadline,
            shop=ShopOut(account_id=case.account_id, name=case.shop_name, region=case.shop_region),
            refund_total=MoneyOut.of(case.refundable),
            amounts=[AmountOut(key=row.key, label=row.label, amount=row.money.value, currency=row.money.currency)
                     for row in case.amounts],
            lines=[LineOut(
                tiktok_line_id=line.tiktok_line_id, order_line_item_id=line.order_line_item_id, sku_id=line.sku_id,
                seller_sku=line.seller_sku, product_name=line.product_name, sku_name=line.sku_name,
                image_url=line.image_url, refund_total=MoneyOut.of(line.refund_total),
                refund_subtotal=MoneyOut.of(line.refund_subtotal),
                refund_shipping_fee=MoneyOut.of(line.refund_shipping_fee), refund_tax=MoneyOut.of(line.refund_tax),
            ) for line in case.lines],
            timeline=[EventOut.of(event) for event in case.timeline],
            allowed_actions=[ActionOut(action=a.action, label=a.label, needs_reason=a.needs_reason,
                                       takes_evidence=a.takes_evidence, takes_amount=a.takes_amount)
                             for a in case.actions],
            decision_on_its_way=case.decision_on_its_way,
        )


class RejectReasonOut(BaseModel):
    name: str = Field(description="Send this as `reason`")
    text: str


class EvidenceImageIn(Strict):
    filename: str = Field(max_length=255)
    content_base64: str = Field(description="The image file, base64-encoded (JPEG, PNG, WebP or GIF, at most 5 MB)")


class DecisionIn(Strict):
    action: str = Field(description="approve_request, reject_request, approve_package, reject_package, "
                                    "offer_partial_refund, refund_keep_item, refund_instead, approve_cancellation, "
                                    "reject_cancellation")
    reason: str | None = Field(None, description="Reject reason name from GET /api/v1/cases/{id}/reject-reasons")
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)
    amount: str | None = Field(None, description='Partial refund as a decimal string, e.g. "12.30"')
    currency: str | None = Field(None, description="Defaults to the case's currency; must be it")
    images: list[EvidenceImageIn] = Field(default_factory=list, max_length=MAX_IMAGES)
    idempotency_key: str | None = Field(None, description="Sending the same key again returns the first outcome "
                                                          "instead of deciding twice")


class DecisionOut(BaseModel):
    case_id: int
    action: str
    state: str = Field(description="done, failed (TikTok refused), pending/sent (retried automatically), or "
                                   "refused (bulk only: not sent, see message)")
    ok: bool
    message: str
    decision_id: int | None
    tiktok_id: str
    idempotency_key: str
    error_code: int | None
    already_so: bool
    refreshed: bool

    @classmethod
    def of(cls, outcome: DecisionOutcome) -> DecisionOut:
        return cls(
            case_id=outcome.case_id, action=outcome.action, state=outcome.state, ok=outcome.ok,
            message=outcome.message, decision_id=outcome.decision_id, tiktok_id=outcome.tiktok_id,
            idempotency_key=outcome.idempotency_key, error_code=outcome.error_code, already_so=outcome.already_so,
            refreshed=outcome.refreshed,
        )


class BulkDecisionIn(Strict):
    case_ids: list[RowIdItem] = Field(min_length=1, max_length=MAX_BULK_CASES)
    action: str = Field(description="approve or reject (or any decision name)")
    reason: str | None = None
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)


class BulkDecisionOut(BaseModel):
    action: str
    done: int
    failed: int
    refused: int
    unfinished: int
    results: list[DecisionOut] = Field(description="One per case, in the order given (duplicates once)")


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class RefreshOut(BaseModel):
    case_id: int
    found: bool = Field(description="False when TikTok no longer lists the request")
    tiktok_status: str
    store_status: str
    message: str

    @classmethod
    def of(cls, result: ResyncResult) -> RefreshOut:
        return cls(case_id=result.case_id, found=result.found, tiktok_status=result.tiktok_status,
                   store_status=result.store_status, message=result.message)
