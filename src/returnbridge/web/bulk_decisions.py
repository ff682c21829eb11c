"""``POST /cases/bulk``: the same decision on the cases selected in the returns grid, with a result per case.

Form fields (the grid's form posts them): ``case_ids`` (repeated, one per selected row), ``action`` (``approve`` or
``reject``, or any decision name such as ``approve_request``), ``reason`` (a TikTok reject reason name, for reject),
``comment`` (optional, for reject) and ``csrf_token``. The answer is a results page, or JSON with
``Accept: application/json``. One case refused (its status moved on, the reason does not apply to it) does not stop
the others: its row says why.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.errors import UserFacingError
from returnbridge.sync.decisions import REFUSED, DecisionAction, DecisionOutcome, DecisionParams, rule_for
from returnbridge.web.auth import SignedInUser, can_decide
from returnbridge.web.case_actions import CaseActions
from returnbridge.web.pages import render
from returnbridge.web.row_ids import MAX_ROW_ID

MAX_BULK_CASES = 500
# The grid's two bulk buttons; any decision name is accepted as well.
SHORT_ACTIONS = {"approve": DecisionAction.APPROVE_REQUEST.value, "reject": DecisionAction.REJECT_REQUEST.value}


class BulkRefused(UserFacingError):
    http_status = 422


def bulk_action(action: str) -> str:
    name = SHORT_ACTIONS.get(action.strip().lower(), action.strip())
    return rule_for(name).action.value  # refuses an unknown name with the list of known ones


def parse_case_ids(values: list[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        try:
            case_id = int(value)
        except ValueError:
            raise BulkRefused(f"{value[:40]!r} is not a case id") from None
        if not 1 <= case_id <= MAX_ROW_ID:  # the database could not even look it up
            raise BulkRefused(f"{value[:40]!r} is not a case id")
        ids.append(case_id)
    if not ids:
        raise BulkRefused("select at least one case")
    if len(ids) > MAX_BULK_CASES:
        raise BulkRefused(f"{len(ids)} cases selected; at most {MAX_BULK_CASES} at once")
    return ids


def bulk_summary(outcomes: list[DecisionOutcome]) -> dict[str, int]:
    return {
        "done": sum(o.ok for o in outcomes),
        "failed": sum(o.state == "failed" for o in outcomes),
        "refused": sum(o.state == REFUSED for o in outcomes),
        "unfinished": sum(o.unfinished for o in outcomes),
    }


def bulk_router(actions: CaseActions) -> APIRouter:
    router = APIRouter(tags=["cases"], include_in_schema=False)

    @router.post("/cases/bulk")
    async def decide_in_bulk(request: Request, user: SignedInUser = Depends(can_decide)) -> Response:
        form = await request.form()
        wants_json = "application/json" in request.headers.get("accept", "")
        raw_action = str(form.get("action") or "")
        try:
            case_ids = parse_case_ids([str(v) for v in form.getlist("case_ids")])
            action = bulk_action(raw_action)
            rule = rule_for(action)
            reason, comment = str(form.get("reason") or "").strip(), str(form.get("comment") or "").strip()
            params = DecisionParams(reason=reason or None if rule.reason else None,
                                    comment=comment or None if rule.evidence else None)
            outcomes = await run_in_threadpool(actions.decide_many, case_ids, action, params, user)
        except UserFacingError as refused:
            status = getattr(refused, "http_status", 422)
            if wants_json:
                return JSONResponse({"detail": str(refused)}, status_code=status)
            return render(request, "error.html", {"title": "Nothing was decided", "message": str(refused)},
                          status_code=status)
        summary = bulk_summary(outcomes)
        if wants_json:
            return JSONResponse({"action": action, **summary, "results": [asdict(o) for o in outcomes]})
        return render(request, "bulk_results.html",
                      {"label": rule.label, "outcomes": outcomes, "summary": summary})

    return router
