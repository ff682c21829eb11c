"""``GET /api/v1/cases``: the returns grid as JSON, filtered, sorted and paginated exactly like the page.

Parameters are the grid's own (``domain.case_view``), so a page URL's query works here unchanged. A bad parameter
answers 400 ``{"detail": ..., "parameter": ...}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from returnbridge.domain.case_view import ViewParameterError
from returnbridge.sync.case_views import list_cases
from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth import SignedInUser, current_user
from returnbridge.web.label_set import current_label_set


class Money(BaseModel):
    amount: str = Field(description="Decimal string, exactly as TikTok sent it (never a float)", examples=["12.50"])
    currency: str = Field(examples=["USD"])


class AccountRef(BaseModel):
    id: str
    name: str


class CaseItem(BaseModel):
    id: str
    kind: str = Field(description="return or cancellation")
    store_return_id: str | None
    return_id: str
    order_id: str
    account: AccountRef
    type: str
    type_label: str
    status: str = Field(description="Store-side status: Requested, Pending, Accepted, Refunded, Rejected, ...")
    marketplace_status: str = Field(description="TikTok's own status value")
    tab: str | None
    reason: str
    created_at: str | None
    updated_at: str | None
    refund_amount: Money | None
    deadline: str | None
    seconds_left: int | None = Field(description="Until TikTok's deadline when the merchant must act; negative when "
                                                 "past")
    needs_action: bool
    decided_by_tiktok: bool
    arbitration_status: str
    details: str = Field(description="Path of the case's page")


class TabItem(BaseModel):
    key: str
    label: str
    count: int
    active: bool


class Cursors(BaseModel):
    next: str | None
    prev: str | None


class SortOrder(BaseModel):
    column: str
    dir: str


class ColumnItem(BaseModel):
    key: str
    label: str
    sortable: bool
    visible: bool


class AccountItem(BaseModel):
    id: str
    name: str
    shop_id: str
    region: str
    status: str
    usable: bool
    reason: str
    selected: bool


class Accounts(BaseModel):
    any_usable: bool
    message: str | None
    reasons: list[str]
    items: list[AccountItem]


class CaseListResponse(BaseModel):
    rows: list[CaseItem]
    tabs: list[TabItem]
    cursors: Cursors
    sort: SortOrder
    filters: dict[str, Any]
    columns: list[ColumnItem]
    query: list[tuple[str, str]] = Field(description="The view as query parameters (for the page's URL)")
    accounts: Accounts


# The grid's query parameters, described in the OpenAPI document (the route reads them from the raw query, so FastAPI
# cannot see them): clients and the fuzzer then know they exist. The grid (``CaseView.from_query``) validates them.
_REPEATABLE = ("account", "type", "status", "marketplace_status", "reason")
_SINGLE = {
    "tab": "Tab key (see ``tabs``)", "created_from": "YYYY-MM-DD", "created_to": "YYYY-MM-DD",
    "updated_from": "YYYY-MM-DD", "updated_to": "YYYY-MM-DD", "amount_min": "Decimal string",
    "amount_max": "Decimal string", "currency": "Required with an amount range", "sku": "Seller SKU or SKU id",
    "q": "Search text", "sort": "Column key", "dir": "asc or desc", "cursor": "From ``cursors``",
    "columns": "Comma-separated column keys", "limit": "1-200",
}
_QUERY_PARAMETERS: list[dict[str, Any]] = [
    {"name": name, "in": "query", "required": False, "style": "form", "explode": True,
     "schema": {"type": "array", "items": {"type": "string"}}}
    for name in _REPEATABLE
] + [
    {"name": name, "in": "query", "required": False, "description": text, "schema": {"type": "string"}}
    for name, text in _SINGLE.items()
]


class ParameterProblem(BaseModel):
    detail: str
    parameter: str


def case_list_api_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["cases"])

    @router.get(
        "/cases",
        summary="Returns and cancellations, as the grid shows them",
        response_model=CaseListResponse,
        responses={400: {"model": ParameterProblem, "description": "A query parameter that cannot be used"}},
        openapi_extra={"parameters": _QUERY_PARAMETERS},
    )
    async def cases(request: Request, _user: SignedInUser = Depends(current_user)) -> Any:
        """Query parameters: ``tab``, ``account``, ``type``, ``status``, ``marketplace_status``, ``reason``
        (repeatable), ``created_from``/``created_to``/``updated_from``/``updated_to`` (YYYY-MM-DD),
        ``amount_min``/``amount_max`` with ``currency``, ``sku``, ``q``, ``sort``/``dir``, ``cursor``,
        ``columns``, ``limit`` (1-200)."""
        try:
            return await run_in_threadpool(
                list_cases, runtime, request.query_params, label_set=current_label_set(runtime)
            )
        except ViewParameterError as error:
            return bad_parameter(error)

    return router


def bad_parameter(error: ViewParameterError) -> Response:
    return JSONResponse({"detail": error.message, "parameter": error.parameter}, status_code=error.status_code)
