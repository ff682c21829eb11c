"""Body filters of Search Returns (§3.1) and Search Cancellations (§3.10); only the fields set are sent."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _SearchFilters(BaseModel):
    # forbid: a misspelt filter would otherwise be silently dropped and widen the search.
    model_config = ConfigDict(extra="forbid", frozen=True)

    order_ids: list[str] | None = None
    buyer_user_ids: list[str] | None = None
    # Time bounds are int Unix seconds: ``ge`` inclusive, ``lt`` exclusive (a string fails on TikTok's side).
    create_time_ge: int | None = None
    create_time_lt: int | None = None
    update_time_ge: int | None = None
    update_time_lt: int | None = None
    locale: str | None = None

    def to_body(self) -> dict[str, Any]:
        """The JSON body: set fields only (an explicitly empty list is set, and is sent)."""
        return self.model_dump(exclude_none=True)


class ReturnFilters(_SearchFilters):
    return_ids: list[str] | None = None
    return_types: list[str] | None = None
    return_status: list[str] | None = None
    seller_proposed_return_type: list[str] | None = None
    arbitration_status: list[str] | None = None


class CancellationFilters(_SearchFilters):
    cancel_ids: list[str] | None = None
    cancel_types: list[str] | None = None
    cancel_status: list[str] | None = None


class OrderFilters(BaseModel):
    """Body filters of Search Orders (§7.1): unlike the returns searches, ``order_status`` is a single string."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_status: str | None = None
    buyer_user_id: str | None = None
    create_time_ge: int | None = None
    create_time_lt: int | None = None
    update_time_ge: int | None = None
    update_time_lt: int | None = None

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
