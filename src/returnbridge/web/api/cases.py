"""``/api/v1/cases``: a case with its lines, amounts and timeline; TikTok's reject reasons for it; decisions (one
case or many), internal notes and re-sync. Authenticated by a personal API token (``Authorization: Bearer rb_...``)
or the browser session (writes then need ``X-CSRF-Token``). Errors are ``{"detail": message}`` with a 4xx status
(503 when TikTok could not be reached and nothing was done)."""

from __future__ import annotations

import base64
import binascii
from typing import NoReturn

from fastapi import APIRouter, Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from returnbridge.errors import UserFacingError
from returnbridge.sync.decisions import DecisionParams, EvidenceImage, parse_amount, rule_for
from returnbridge.web.api.schemas import (
    BulkDecisionIn,
    BulkDecisionOut,
    CaseOut,
    DecisionIn,
    DecisionOut,
    EventOut,
    NoteIn,
    RefreshOut,
    RejectReasonOut,
)
from returnbridge.web.auth import SignedInUser, can_decide, current_user
from returnbridge.web.bulk_decisions import bulk_action, bulk_summary
from returnbridge.web.case_actions import CaseActions
from returnbridge.web.evidence_upload import EvidenceRefused, check_images
from returnbridge.web.row_ids import CaseId

_ERRORS = {
    401: {"description": "No valid session or API token"},
    403: {"description": "Your role may not do this (viewers only read), or the CSRF token is missing"},
    404: {"description": "No such case"},
}


def _refuse(error: UserFacingError) -> NoReturn:
    raise HTTPException(status_code=getattr(error, "http_status", 422), detail=str(error)) from error


def _images(given: DecisionIn) -> tuple[EvidenceImage, ...]:
    images = []
    for image in given.images:
        try:
            data = base64.b64decode(image.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise EvidenceRefused(f"{image.filename} is not valid base64") from None
        images.append(EvidenceImage(image.filename or "image", data))
    check_images(images)
    return tuple(images)


def cases_api_router(actions: CaseActions) -> APIRouter:
    router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=_ERRORS)  # type: ignore[arg-type]

    @router.get("/{case_id}", response_model=CaseOut, summary="One case with lines, amounts and timeline")
    async def get_case(case_id: CaseId, user: SignedInUser = Depends(current_user)) -> CaseOut:
        try:
            return CaseOut.of(await run_in_threadpool(actions.detail, case_id))
        except UserFacingError as refused:
            _refuse(refused)

    @router.get("/{case_id}/reject-reasons", response_model=list[RejectReasonOut],
                summary="TikTok's reject reasons for this case now")
    async def reject_reasons(case_id: CaseId, user: SignedInUser = Depends(current_user)) -> list[RejectReasonOut]:
        try:
            reasons = await run_in_threadpool(actions.reject_reasons, case_id)
        except UserFacingError as refused:
            _refuse(refused)
        return [RejectReasonOut(name=r.name, text=r.text or "") for r in reasons]

    @router.post("/{case_id}/decisions", response_model=DecisionOut,
                 summary="Decide the case on TikTok (approve, reject, partial refund, ...)")
    async def decide(case_id: CaseId, body: DecisionIn, user: SignedInUser = Depends(can_decide)) -> DecisionOut:
        """Answers 200 with the outcome once the decision was recorded: ``done``, ``failed`` (TikTok refused it;
        see ``message``), or ``pending``/``sent`` (TikTok did not answer; it is sent again automatically with the
        same key). A decision the case does not allow, or wrong parameters, is refused with 4xx and nothing sent."""
        try:
            rule = rule_for(body.action)
            if body.images and not rule.evidence:
                raise EvidenceRefused(f"'{rule.label}' takes no images")
            params = DecisionParams(
                reason=body.reason, comment=body.comment, images=_images(body),
                amount=parse_amount(body.amount) if body.amount is not None else None, currency=body.currency,
            )
            outcome = await run_in_threadpool(actions.decide, case_id, body.action, params, user,
                                              body.idempotency_key)
        except UserFacingError as refused:
            _refuse(refused)
        return DecisionOut.of(outcome)

    @router.post("/bulk-decisions", response_model=BulkDecisionOut,
                 summary="The same decision on several cases, one result each")
    async def decide_in_bulk(body: BulkDecisionIn, user: SignedInUser = Depends(can_decide)) -> BulkDecisionOut:
        try:
            action = bulk_action(body.action)
            params = DecisionParams(reason=body.reason, comment=body.comment)
            outcomes = await run_in_threadpool(actions.decide_many, body.case_ids, action, params, user)
        except UserFacingError as refused:
            _refuse(refused)
        return BulkDecisionOut(action=action, **bulk_summary(outcomes),
                               results=[DecisionOut.of(o) for o in outcomes])

    @router.post("/{case_id}/notes", response_model=EventOut, status_code=201,
                 summary="Add an internal note to the case's timeline")
    async def add_note(case_id: CaseId, body: NoteIn, user: SignedInUser = Depends(can_decide)) -> EventOut:
        try:
            return EventOut.of(await run_in_threadpool(actions.add_note, case_id, body.text, user))
        except UserFacingError as refused:
            _refuse(refused)

    @router.post("/{case_id}/refresh", response_model=RefreshOut, summary="Re-read the case from TikTok now")
    async def refresh(case_id: CaseId, user: SignedInUser = Depends(can_decide)) -> RefreshOut:
        try:
            return RefreshOut.of(await run_in_threadpool(actions.resync, case_id))
        except UserFacingError as refused:
            _refuse(refused)

    return router
