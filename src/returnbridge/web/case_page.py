"""``/cases/{id}``: one case with everything TikTok sent about it, its timeline, and the actions it allows now.

Every action is a POST with the CSRF token that redirects back to the case (post/redirect/get) with a flash saying
what happened; a refused decision is such a flash too, never an error page. Only an evidence file TikTok would
refuse answers 400 with the case page, so the merchant sees at once why and chooses another file.

Form fields of ``POST /cases/{id}/decide``: ``action`` (a ``DecisionAction`` value), ``reason`` (a reject reason
name from TikTok's list for the case), ``comment``, ``amount`` (partial refund, in the case's currency) and
``images`` (files, repeated).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from returnbridge.db.models import utcnow
from returnbridge.domain.roles import Role
from returnbridge.errors import UserFacingError
from returnbridge.sync.decisions import CaseNotFound, DecisionParams, DecisionRefused, rule_for
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.stores import (
    EffectNotFound,
    EffectView,
    StoreServiceError,
    list_effects,
    list_stores,
    retry_effect,
)
from returnbridge.web.auth import SignedInUser, can_decide, current_user
from returnbridge.web.auth.client import is_https
from returnbridge.web.case_actions import CaseActions, outcome_kind, outcome_sentence
from returnbridge.web.case_detail import CaseDetail
from returnbridge.web.evidence_upload import EvidenceRefused, read_evidence
from returnbridge.web.money import parse_money_input
from returnbridge.web.pages import render
from returnbridge.web.row_ids import CaseId, RowId


def deadline_text(deadline: datetime | None, now: datetime) -> str:
    """"2 d 4 h left", "35 min left", "overdue by 3 h": what the countdown shows before (and without) JavaScript."""
    if deadline is None:
        return ""
    seconds = int((deadline - now).total_seconds())
    span = abs(seconds)
    days, rest = divmod(span, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return f"{text} left" if seconds >= 0 else f"overdue by {text}"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else ""


def case_page_router(runtime: Runtime, actions: CaseActions) -> APIRouter:
    router = APIRouter(tags=["cases"], include_in_schema=False)

    async def page(request: Request, user: SignedInUser, case_id: int, *, status_code: int = 200,
                   error: str = "", form: dict[str, str] | None = None) -> Response:
        try:
            detail: CaseDetail = await run_in_threadpool(actions.detail, case_id)
        except CaseNotFound:
            return render(request, "error.html", {"title": "Case not found",
                                                  "message": f"There is no case {case_id}."}, status_code=404)
        reasons: list[Any] = []
        reasons_error = ""
        if user.can(Role.AGENT) and detail.needs_reasons:
            try:
                reasons = await run_in_threadpool(actions.reject_reasons, case_id)
            except DecisionRefused as refused:
                reasons_error = _sentence(refused)
        now = utcnow()
        store_records = await run_in_threadpool(_store_records, runtime, case_id)
        context = {
            "case": detail, "store_records": store_records, "can_act": user.can(Role.AGENT), "reasons": reasons,
            "reasons_error": reasons_error,
            "error": error, "form": form or {}, "deadline_left": deadline_text(detail.seller_deadline, now),
            "deadline_iso": detail.seller_deadline.isoformat() if detail.seller_deadline else "",
            "overdue": bool(detail.seller_deadline and detail.seller_deadline < now), "when": when,
        }
        return render(request, "case.html", context, status_code=status_code)

    def back(request: Request, case_id: int, message: str, kind: str) -> Response:
        response = RedirectResponse(f"/cases/{case_id}", status_code=303)
        request.app.state.flasher.add(request, response, message, kind, secure=is_https(request, runtime.settings))
        return response

    @router.get("/cases/{case_id}")
    async def show_case(request: Request, case_id: CaseId, user: SignedInUser = Depends(current_user)) -> Response:
        return await page(request, user, case_id)

    @router.post("/cases/{case_id}/decide")
    async def decide(request: Request, case_id: CaseId, user: SignedInUser = Depends(can_decide)) -> Response:
        form = await request.form()
        action = _field(form.get("action"))
        values = {name: _field(form.get(name)) for name in ("reason", "comment", "amount")}
        try:
            rule = rule_for(action)
            images = await read_evidence(form.getlist("images")) if rule.evidence else ()
        except EvidenceRefused as refused:
            return await page(request, user, case_id, status_code=400, error=_sentence(refused),
                              form={"action": action, **values})
        except DecisionRefused as refused:
            return back(request, case_id, _sentence(refused), "error")
        try:
            amount: Decimal | None = None
            if rule.amount:
                detail = await run_in_threadpool(actions.detail, case_id)
                amount = parse_money_input(values["amount"], detail.currency)
            params = DecisionParams(
                reason=values["reason"] or None if rule.reason else None,
                comment=values["comment"] or None if rule.evidence else None,
                images=images, amount=amount,
            )
            outcome = await run_in_threadpool(actions.decide, case_id, action, params, user)
        except UserFacingError as refused:  # DecisionRefused, a mistyped amount
            return back(request, case_id, _sentence(refused), "error")
        return back(request, case_id, outcome_sentence(outcome), outcome_kind(outcome))

    @router.post("/cases/{case_id}/notes")
    async def add_note(request: Request, case_id: CaseId, text: str = Form(""),
                       user: SignedInUser = Depends(can_decide)) -> Response:
        try:
            await run_in_threadpool(actions.add_note, case_id, text, user)
        except UserFacingError as refused:
            return back(request, case_id, _sentence(refused), "error")
        return back(request, case_id, "Note added.", "success")

    @router.post("/cases/{case_id}/resync")
    async def resync(request: Request, case_id: CaseId, user: SignedInUser = Depends(can_decide)) -> Response:
        try:
            result = await run_in_threadpool(actions.resync, case_id)
        except UserFacingError as refused:
            return back(request, case_id, _sentence(refused), "error")
        return back(request, case_id, result.message, "success" if result.found else "info")

    @router.post("/cases/{case_id}/effects/{effect_id}/retry")
    async def retry_store_effect(request: Request, case_id: CaseId, effect_id: RowId,
                                 user: SignedInUser = Depends(can_decide)) -> Response:
        try:
            effect = await run_in_threadpool(_retry_for_case, runtime, case_id, effect_id, user.email)
        except StoreServiceError as refused:
            return back(request, case_id, _sentence(refused), "error")
        return back(request, case_id, f"The store {effect.kind} will be tried again shortly.", "success")

    return router


@dataclass(frozen=True)
class StoreRecord:
    """One effect of this case in one of the merchant's stores, as the case page shows it."""

    effect: EffectView
    store_name: str
    platform: str

    @property
    def retryable(self) -> bool:
        return self.effect.state in ("held", "failed")


def _store_records(runtime: Runtime, case_id: int) -> list[StoreRecord]:
    effects = list_effects(runtime, case_id=case_id)
    if not effects:
        return []
    stores = {store.id: store for store in list_stores(runtime)}
    return [
        StoreRecord(effect, stores[effect.store_id].name if effect.store_id in stores else f"store {effect.store_id}",
                    stores[effect.store_id].platform if effect.store_id in stores else "")
        for effect in effects
    ]


def _retry_for_case(runtime: Runtime, case_id: int, effect_id: int, actor_name: str) -> EffectView:
    # The effect must belong to the case in the URL: a retry button cannot be pointed at another case's effect.
    if not any(effect.id == effect_id for effect in list_effects(runtime, case_id=case_id)):
        raise EffectNotFound(f"case {case_id} has no store effect {effect_id}")
    return retry_effect(runtime, effect_id, actor_name=actor_name)


def _field(value: UploadFile | str | None) -> str:
    return value if isinstance(value, str) else ""


def _sentence(error: Exception) -> str:
    text = str(error).strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
