"""The case as the merchant reads it, for the case page and the JSON API alike: header facts, lines, TikTok's
amount breakdown, buyer evidence, the timeline, and the actions the case allows right now.

The timeline is rendered by event kind, generically: every event becomes a title, labelled texts, images, videos
and at most one link. A kind this module does not know yet (say, store effects once mirroring lands) still shows
its scalar details and, when its detail carries a web address of the store record, a link to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from returnbridge.db.models import Case, CaseLine, TimelineEvent
from returnbridge.db.repositories.case_file import CaseFile
from returnbridge.domain.statuses import CaseKind, classify
from returnbridge.sync.decisions import allowed_actions, rule_for
from returnbridge.web.money import amount_text, money_text

# TikTok's refund components, in the order the seller center lists them.
AMOUNT_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("refund_subtotal", "Subtotal"),
    ("refund_shipping_fee", "Shipping"),
    ("refund_tax", "Tax"),
    ("retail_delivery_fee", "Retail delivery fee"),
    ("buyer_service_fee", "Buyer service fee"),
    ("product_platform_discount", "Product discount paid by TikTok"),
    ("product_seller_discount", "Product discount paid by you"),
    ("shipping_fee_platform_discount", "Shipping discount paid by TikTok"),
    ("shipping_fee_seller_discount", "Shipping discount paid by you"),
    ("partial_refund_amount", "Partial refund"),
    ("refund_total", "Refund total"),
)

# Where a store effect (or any future event) may put the web address of the record it made in the store.
_LINK_KEYS = ("store_url", "admin_url", "url", "link")
_LINK_LABEL_KEYS = ("store_record", "store_record_id", "label", "name")
_EVENT_TITLES = {
    "status_change": "Status changed on TikTok",
    "arbitration": "Arbitration",
    "tiktok_record": "TikTok record",
    "decision": "Decision",
    "store_effect": "Store",
    "note": "Note",
}
_ACTOR_LABELS = {
    "buyer": "Buyer", "seller": "Seller (on TikTok)", "tiktok": "TikTok", "merchant": "", "rule": "Rule",
    "system": "ReturnBridge",
}
_DECISION_OUTCOMES = {
    "done": "done", "failed": "failed", "retrying": "not answered yet, retrying", "pending": "recorded",
    "sent": "sent",
}


@dataclass(frozen=True)
class Money:
    amount: Decimal | None
    currency: str

    @property
    def text(self) -> str:
        return money_text(self.amount, self.currency)

    @property
    def value(self) -> str | None:
        """The amount as a decimal string with the currency's decimals (the API's form)."""
        return None if self.amount is None else amount_text(self.amount, self.currency)


@dataclass(frozen=True)
class AmountRow:
    key: str
    label: str
    money: Money


@dataclass(frozen=True)
class LineView:
    tiktok_line_id: str
    order_line_item_id: str
    sku_id: str
    seller_sku: str
    product_name: str
    sku_name: str
    image_url: str  # "" unless it is an http(s) address
    refund_total: Money
    refund_subtotal: Money
    refund_shipping_fee: Money
    refund_tax: Money


@dataclass(frozen=True)
class Video:
    url: str
    cover: str


@dataclass(frozen=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    kind: str
    actor: str
    actor_name: str
    who: str  # "Buyer", "alice@example.com", "Rule: auto-approve under $20", ...
    title: str
    from_status: str
    to_status: str
    texts: list[tuple[str, str]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    link: Link | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionView:
    action: str
    label: str
    needs_reason: bool
    takes_evidence: bool
    takes_amount: bool


@dataclass(frozen=True)
class CaseDetail:
    id: int
    kind: str
    tiktok_id: str
    order_id: str
    type: str
    tiktok_status: str
    store_status: str
    arbitration_status: str
    reason_name: str
    reason_text: str
    needs_action: bool
    seller_deadline: datetime | None
    account_id: int
    shop_name: str
    shop_region: str
    currency: str
    created_at: datetime | None
    updated_at: datetime | None
    amounts: list[AmountRow]
    lines: list[LineView]
    timeline: list[EventView]
    evidence_images: list[str]
    evidence_videos: list[Video]
    actions: list[ActionView]
    decision_on_its_way: str  # "" or a sentence saying which decision is still being sent
    raw: dict[str, Any]

    @property
    def refundable(self) -> Money:
        return next(row.money for row in self.amounts if row.key == "refund_total")

    @property
    def raw_json(self) -> str:
        return json.dumps(self.raw, indent=2, ensure_ascii=False, sort_keys=True, default=str)

    @property
    def kind_label(self) -> str:
        return "Cancellation" if self.kind == CaseKind.CANCELLATION.value else "Return"

    def action(self, name: str) -> ActionView | None:
        return next((a for a in self.actions if a.action == name), None)

    @property
    def needs_reasons(self) -> bool:
        return any(a.needs_reason for a in self.actions)


def web_address(value: object) -> str:
    """``value`` if it is an http(s) address, else "": TikTok's and buyers' URLs go into src/href attributes, where
    a ``javascript:`` or ``data:`` address would be a script or a fake page."""
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return ""
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else ""


def case_detail(found: CaseFile) -> CaseDetail:
    case = found.case
    currency = case.currency or ""
    timeline = [event_view(event) for event in found.timeline]
    busy = found.decision_on_its_way
    on_its_way = ""
    if busy is not None:
        on_its_way = (f"Decision #{busy.id} ({rule_for(busy.action).label}) is still on its way to TikTok; it is "
                      "sent again automatically, so no other decision can be made until TikTok answers.")
    return CaseDetail(
        id=case.id,
        kind=case.kind,
        tiktok_id=case.tiktok_id,
        order_id=case.order_id,
        type=case.type,
        tiktok_status=case.tiktok_status,
        store_status=case.store_status or classify(CaseKind(case.kind), case.tiktok_status).store_status.value,
        arbitration_status=case.arbitration_status,
        reason_name=case.reason_name,
        reason_text=case.reason_text,
        needs_action=case.needs_action,
        seller_deadline=case.seller_deadline,
        account_id=case.account_id,
        shop_name=(found.account.shop_name or found.account.shop_id) if found.account is not None else "",
        shop_region=found.account.region if found.account is not None else "",
        currency=currency,
        created_at=case.tiktok_create_time,
        updated_at=case.tiktok_update_time,
        amounts=[AmountRow(key, label, Money(getattr(case, key), currency)) for key, label in AMOUNT_COMPONENTS],
        lines=[_line(line, currency) for line in found.lines],
        timeline=timeline,
        evidence_images=[url for e in timeline if e.actor == "buyer" for url in e.images],
        evidence_videos=[video for e in timeline if e.actor == "buyer" for video in e.videos],
        actions=[] if busy is not None else _actions(case),
        decision_on_its_way=on_its_way,
        raw=case.raw or {},
    )


def _actions(case: Case) -> list[ActionView]:
    return [ActionView(rule.action.value, rule.label, rule.reason, rule.evidence, rule.amount)
            for rule in allowed_actions(case)]


def _line(line: CaseLine, case_currency: str) -> LineView:
    currency = line.currency or case_currency
    return LineView(
        line.tiktok_line_id, line.order_line_item_id, line.sku_id, line.seller_sku, line.product_name, line.sku_name,
        web_address(line.image_url), Money(line.refund_total, currency), Money(line.refund_subtotal, currency),
        Money(line.refund_shipping_fee, currency), Money(line.refund_tax, currency),
    )


def _who(actor: str, actor_name: str) -> str:
    label = _ACTOR_LABELS.get(actor, actor.capitalize())
    if actor_name:
        return f"{label}: {actor_name}" if label else actor_name
    return label or actor


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def event_view(event: TimelineEvent) -> EventView:
    detail = event.detail if isinstance(event.detail, dict) else {"value": event.detail}
    texts: list[tuple[str, str]] = []
    images: list[str] = []
    videos: list[Video] = []
    link: Link | None = None
    title = _EVENT_TITLES.get(event.kind, event.kind.replace("_", " ").capitalize())
    if event.kind == "decision":
        label = _text(detail.get("label")) or _text(detail.get("action"))
        outcome = _DECISION_OUTCOMES.get(_text(detail.get("outcome")), _text(detail.get("outcome")))
        title = f"Decision: {label}" + (f" — {outcome}" if outcome else "")
        params = detail.get("params") if isinstance(detail.get("params"), dict) else {}
        for key, name in (("reason_text", "Reason"), ("comment", "Comment")):
            if _text(params.get(key)):
                texts.append((name, _text(params[key])))
        if not _text(params.get("reason_text")) and _text(params.get("reason")):
            texts.append(("Reason", _text(params["reason"])))
        if _text(params.get("amount")):
            texts.append(("Amount", f"{params['amount']} {_text(params.get('currency'))}".strip()))
        images = [url for image in params.get("images") or [] if isinstance(image, dict)
                  if (url := web_address(image.get("url")))]
        if _text(detail.get("result")):
            texts.append(("TikTok", _text(detail["result"])))
    elif event.kind == "tiktok_record":
        if _text(detail.get("event")):
            title = _text(detail["event"])
        for key, name in (("description", "Description"), ("reason_text", "Reason"), ("note", "Note")):
            if _text(detail.get(key)):
                texts.append((name, _text(detail[key])))
        images = [url for image in detail.get("images") or []
                  if (url := web_address(image.get("url") if isinstance(image, dict) else image))]
        videos = [Video(url, web_address(video.get("cover"))) for video in detail.get("videos") or []
                  if isinstance(video, dict) and (url := web_address(video.get("url")))]
        if detail.get("unreadable"):
            texts.append(("Unreadable record", json.dumps(detail.get("record"), ensure_ascii=False, default=str)))
    elif event.kind == "note":
        text = _text(detail.get("text")) or _text(detail.get("message"))
        if text:
            texts.append(("", text))
    elif event.kind == "status_change":
        if detail.get("store_status"):
            texts.append(("Store status", str(detail["store_status"])))
        if detail.get("auto_approved_at_deadline"):
            texts.append(("", "TikTok approved it automatically when the seller deadline passed"))
    else:
        # A kind without its own rendering (store effects, anything added later): its plain facts, and a link to
        # the record it made when the detail carries one.
        url = next((u for key in _LINK_KEYS if (u := web_address(detail.get(key)))), "")
        if url:
            label = next((str(detail[key]) for key in _LINK_LABEL_KEYS if detail.get(key) not in (None, "")), url)
            link = Link(url, label)
        texts.extend((key.replace("_", " ").capitalize(), str(value)) for key, value in detail.items()
                     if key not in _LINK_KEYS and isinstance(value, str | int | float | bool) and value != "")
    return EventView(
        id=event.id, at=event.at, kind=event.kind, actor=event.actor, actor_name=event.actor_name,
        who=_who(event.actor, event.actor_name), title=title, from_status=event.from_status,
        to_status=event.to_status, texts=texts, images=images, videos=videos, link=link, detail=detail,
    )
