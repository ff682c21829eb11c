"""What a merchant's rule says, validated: the conditions a case must meet and the one action the rule takes.

Pure data with its checks (pydantic), no I/O. ``sync.rules`` stores, evaluates and applies rules;
``db.repositories.rules`` turns conditions into one SQL ``WHERE`` so a dry run over a million cases is one query.

A rule is written as JSON::

    {"name": "Small refunds", "priority": 10, "enabled": false,
     "conditions": {"types": ["REFUND"], "amount": {"currency": "USD", "max": "20.00"}},
     "action": {"kind": "approve"}}

Every condition given must hold (AND); a list condition holds when the case has any of the values (OR). A rule
without conditions matches every case, which is allowed but worth a dry run first.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from returnbridge.domain.statuses import StoreStatus


class ActionKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    PARTIAL_REFUND = "partial_refund"
    REVIEW = "review"  # route to the review queue: nothing is sent to TikTok


ACTION_LABELS: dict[ActionKind, str] = {
    ActionKind.APPROVE: "Approve",
    ActionKind.REJECT: "Reject",
    ActionKind.PARTIAL_REFUND: "Offer a partial refund",
    ActionKind.REVIEW: "Route to the review queue",
}


class RuleInvalid(ValueError):
    """A rule that cannot be saved; ``errors`` lists each problem as "where: what"."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _money(value: object, what: str) -> Decimal:
    # Floats are refused: 0.1 + 0.2 is not 0.3, and a rule on money must compare exactly.
    if isinstance(value, bool | float) or not isinstance(value, str | int | Decimal):
        raise ValueError(f'{what} must be a decimal number written as text, like "12.34"')
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f'{what} must be a decimal number like "12.34"') from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{what} must be zero or more")
    if amount != amount.quantize(Decimal("0.000001")):
        raise ValueError(f"{what} has more than 6 decimals")
    return amount


def _texts(values: list[str], what: str) -> list[str]:
    cleaned = [v.strip() for v in values]
    if any(not v for v in cleaned):
        raise ValueError(f"{what} must not contain empty values")
    return list(dict.fromkeys(cleaned))


class AmountCondition(BaseModel):
    """TikTok's refund total between ``min`` and ``max`` (inclusive), in ``currency`` only: amounts in different
    currencies are never compared, so a case in another currency does not match."""

    model_config = ConfigDict(extra="forbid")

    currency: str
    min: Decimal | None = None
    max: Decimal | None = None

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> str:
        if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
            raise ValueError("currency must be a three-letter code like USD")
        return value.strip().upper()

    @field_validator("min", "max", mode="before")
    @classmethod
    def _amount(cls, value: object) -> Decimal | None:
        return None if value is None or value == "" else _money(value, "the amount")

    @model_validator(mode="after")
    def _range(self) -> AmountCondition:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is more than max {self.max}")
        return self


class Conditions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    types: list[str] = Field(default_factory=list)  # TikTok request types: REFUND, RETURN_AND_REFUND, BUYER_CANCEL…
    reasons: list[str] = Field(default_factory=list)  # TikTok reason names, e.g. ecom_order_delivered_refund_…
    amount: AmountCondition | None = None
    skus: list[str] = Field(default_factory=list)  # seller SKUs: any returned line with one of them
    account_ids: list[int] = Field(default_factory=list)
    statuses: list[StoreStatus] = Field(default_factory=list)  # store-side status (Requested, Pending, …)
    tiktok_statuses: list[str] = Field(default_factory=list)  # TikTok's own status, as sent
    # The buyer's returns on earlier orders (the buyer comes from Search Orders). A case whose buyer is not known
    # yet does not match a rule that asks about earlier returns: a rule must not guess.
    earlier_returns_min: int | None = Field(default=None, ge=0)
    earlier_returns_max: int | None = Field(default=None, ge=0)

    @field_validator("types", "reasons", "skus", "tiktok_statuses")
    @classmethod
    def _no_blanks(cls, values: list[str]) -> list[str]:
        return _texts(values, "the list")

    @field_validator("types", "tiktok_statuses")
    @classmethod
    def _upper(cls, values: list[str]) -> list[str]:
        return [v.upper() for v in values]

    @model_validator(mode="after")
    def _earlier_range(self) -> Conditions:
        low, high = self.earlier_returns_min, self.earlier_returns_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"earlier_returns_min {low} is more than earlier_returns_max {high}")
        return self

    @property
    def asks_buyer(self) -> bool:
        return self.earlier_returns_min is not None or self.earlier_returns_max is not None


class RuleAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActionKind
    reason: str | None = None  # reject: a reason name from TikTok's list for the request (checked when sent)
    comment: str | None = Field(default=None, max_length=500)
    percent: Decimal | None = None  # partial refund: share of TikTok's refund total, 0 < percent < 100

    @field_validator("percent", mode="before")
    @classmethod
    def _percent(cls, value: object) -> Decimal | None:
        return None if value is None or value == "" else _money(value, "percent")

    @model_validator(mode="after")
    def _fits_kind(self) -> RuleAction:
        if self.kind is ActionKind.REJECT:
            if not (self.reason or "").strip():
                raise ValueError("a reject needs a reason (a reject reason name TikTok offers)")
        elif self.reason or self.comment:
            raise ValueError(f"{self.kind.value} takes no reason or comment")
        if self.kind is ActionKind.PARTIAL_REFUND:
            if self.percent is None or not Decimal(0) < self.percent < Decimal(100):
                raise ValueError("a partial refund needs percent, more than 0 and less than 100")
            if self.percent != self.percent.quantize(Decimal("0.01")):
                raise ValueError("percent takes at most 2 decimals")
        elif self.percent is not None:
            raise ValueError(f"{self.kind.value} takes no percent")
        return self

    def describe(self) -> str:
        label = ACTION_LABELS[self.kind]
        if self.kind is ActionKind.REJECT:
            return f"{label} ({self.reason})"
        if self.kind is ActionKind.PARTIAL_REFUND:
            return f"{label} of {self.percent} %"
        return label


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    priority: int = Field(default=100, ge=0, le=1_000_000)
    # None (not given): a new rule starts off, since everything automatic is off until the merchant switches it
    # on; an edited rule keeps the state it had, since only the merchant's explicit switch turns a rule off.
    enabled: bool | None = None
    conditions: Conditions = Field(default_factory=Conditions)
    action: RuleAction

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the name must not be blank")
        return value.strip()


def _where(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "rule"


def _errors(error: ValidationError) -> list[str]:
    return [f"{_where(e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}" for e in error.errors()]


def _nul_at(value: Any, where: str = "rule") -> str | None:
    """Where in this JSON a string (or a key) holds a NUL character, if anywhere."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where != "rule" else str(key)
            found = path if "\x00" in str(key) else _nul_at(item, path)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, f"{where}.{index}")
            if found is not None:
                return found
    return None


def parse_rule(data: Any) -> RuleSpec:
    """A rule from JSON (the API, the form); ``RuleInvalid`` lists every problem at once."""
    if not isinstance(data, dict):
        raise RuleInvalid(["rule: a JSON object is needed"])
    nul = _nul_at(data)
    if nul is not None:
        # PostgreSQL text cannot hold NUL: the rule's name (and its conditions, once queried) would fail there.
        raise RuleInvalid([f"{nul}: contains a NUL character"])
    try:
        return RuleSpec.model_validate(data)
    except ValidationError as error:
        raise RuleInvalid(_errors(error)) from None


def parse_conditions(data: Any) -> Conditions:
    try:
        return Conditions.model_validate(data if data is not None else {})
    except ValidationError as error:
        raise RuleInvalid([f"conditions.{m}" for m in _errors(error)]) from None


def partial_amount(refund_total: Decimal, percent: Decimal, places: int) -> Decimal:
    """``percent`` of the refund total, rounded down to the currency's smallest unit: a rule never offers more."""
    quantum = Decimal(1).scaleb(-places)
    return (refund_total * percent / Decimal(100)).quantize(quantum, rounding="ROUND_DOWN")


def spec_json(spec: RuleSpec) -> dict[str, Any]:
    """The rule as stored (JSON-safe: decimals as text)."""
    return spec.model_dump(mode="json", exclude_none=True)
