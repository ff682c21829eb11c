"""``/rules`` (admins): write, dry-run, switch on and off the merchant's rules; the review queue; and the JSON API
``/api/v1/rules`` (CRUD and ``/dry-run``). Invalid rules get 400 with every problem listed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.domain.row_ids import row_id
from returnbridge.domain.rules import ACTION_LABELS, ActionKind, RuleInvalid
from returnbridge.domain.statuses import StoreStatus
from returnbridge.sync import rules
from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth import SignedInUser, admin_only
from returnbridge.web.auth.client import is_https
from returnbridge.web.money import amount_cell
from returnbridge.web.pages import render
from returnbridge.web.row_ids import RowId

T = TypeVar("T")

_LIST_FIELDS = ("types", "reasons", "skus", "tiktok_statuses")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _whole(text: str, *, signed: bool = False) -> int | str:
    """A form's whole number as an int, anything else as typed (the rule's validation names it). ASCII digits only:
    "²".isdigit() is True, yet int("²") raises."""
    digits = text[1:] if signed and text.startswith("-") else text
    return int(text) if digits.isascii() and digits.isdigit() else text


def rule_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The rule JSON a form describes. Values stay text: validation (``domain.rules``) says what is wrong."""
    conditions: dict[str, Any] = {name: _split(form.get(name, "")) for name in _LIST_FIELDS}
    conditions["statuses"] = _split(form.get("statuses", ""))
    accounts = _split(form.get("account_ids", ""))
    conditions["account_ids"] = [_whole(a) for a in accounts]
    currency, low, high = (form.get(k, "").strip() for k in ("amount_currency", "amount_min", "amount_max"))
    if currency or low or high:
        conditions["amount"] = {"currency": currency, "min": low or None, "max": high or None}
    for name in ("earlier_returns_min", "earlier_returns_max"):
        value = form.get(name, "").strip()
        if value:
            conditions[name] = _whole(value)
    conditions = {k: v for k, v in conditions.items() if v not in ([], None)}
    action: dict[str, Any] = {"kind": form.get("action_kind", "")}
    for name in ("reason", "comment", "percent"):
        value = form.get(name, "").strip()
        if value:
            action[name] = value
    priority = form.get("priority", "").strip() or "100"
    return {
        "name": form.get("name", ""),
        "priority": _whole(priority, signed=True),
        "conditions": conditions,
        "action": action,
    }


def form_of(view: rules.RuleView) -> dict[str, str]:
    c, a = view.conditions, view.action
    amount = c.get("amount") or {}
    return {
        "name": view.name, "priority": str(view.priority),
        **{name: ", ".join(c.get(name, [])) for name in (*_LIST_FIELDS, "statuses")},
        "account_ids": ", ".join(str(i) for i in c.get("account_ids", [])),
        "amount_currency": amount.get("currency", ""), "amount_min": amount.get("min") or "",
        "amount_max": amount.get("max") or "",
        "earlier_returns_min": str(c.get("earlier_returns_min", "")),
        "earlier_returns_max": str(c.get("earlier_returns_max", "")),
        "action_kind": a.get("kind", ""), "reason": a.get("reason", ""), "comment": a.get("comment", ""),
        "percent": a.get("percent", ""),
    }


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RuleInvalid([f"period: {text!r} is not a date like 2026-01-31"]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# The API reads a rule as raw JSON (``domain.rules`` validates it and names every wrong field), so FastAPI cannot
# describe the body; this says at least that one is expected, for clients and the fuzzer.
_RULE_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "A rule: name, enabled, priority, conditions, action (see the rules page)",
}}}}}


def rules_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    api = APIRouter(prefix="/api/v1/rules", tags=["rules"])

    async def call(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(lambda: work(runtime, *args, **kwargs))

    async def page(request: Request, *, status_code: int = 200, **context: Any) -> Response:
        values: dict[str, Any] = {
            "rules": await call(rules.list_rules),
            "queue": await call(rules.review_queue),
            "runs": await call(rules.recent_runs),
            "form": {}, "errors": [], "dry": None, "dry_name": "", "editing": None,
            "action_kinds": [(k.value, ACTION_LABELS[k]) for k in ActionKind],
            "store_statuses": [s.value for s in StoreStatus], "money": amount_cell,
            **context,
        }
        # Missing form fields read as "" (the templates are strict about undefined names).
        values["form"] = defaultdict(str, values["form"])
        return render(request, "rules.html", values, status_code=status_code)

    def back(request: Request, message: str) -> Response:
        response = RedirectResponse("/rules", status_code=303)
        request.app.state.flasher.add(request, response, message, secure=is_https(request, runtime.settings))
        return response

    async def form_data(request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    @router.get("/rules")
    async def show(request: Request, edit: int | None = None, user: SignedInUser = Depends(admin_only)) -> Response:
        if edit is not None:
            view = await call(rules.get_rule, edit)
            return await page(request, form=form_of(view), editing=view.id)
        return await page(request)

    @router.post("/rules")
    async def save(request: Request, user: SignedInUser = Depends(admin_only)) -> Response:
        form = await form_data(request)
        data = rule_from_form(form)
        editing = row_id(form.get("rule_id"))
        try:
            if form.get("intent") == "dry-run":
                result = await call(rules.dry_run, data)
                return await page(request, form=form, dry=result, dry_name=data["name"] or "this rule",
                                  editing=editing)
            if editing is not None:
                # The form has no on/off field: editing keeps the rule's state, the switch is the only way off.
                view = await call(rules.update_rule, editing, data, by=user.email)
                state = "It is on." if view.enabled else "It is off until you switch it on."
                return back(request, f"Rule “{view.name}” saved. {state}")
            view = await call(rules.create_rule, data, by=user.email)
        except RuleInvalid as invalid:
            return await page(request, status_code=400, form=form, errors=invalid.errors, editing=editing)
        return back(request, f"Rule “{view.name}” saved. It is off until you switch it on.")

    @router.post("/rules/{rule_id}/dry-run")
    async def dry_saved(request: Request, rule_id: RowId, user: SignedInUser = Depends(admin_only)) -> Response:
        view = await call(rules.get_rule, rule_id)
        result = await call(rules.dry_run_saved, rule_id)
        return await page(request, dry=result, dry_name=view.name)

    @router.post("/rules/{rule_id}/enabled")
    async def switch(request: Request, rule_id: RowId, user: SignedInUser = Depends(admin_only)) -> Response:
        enable = (await form_data(request)).get("enabled") == "1"
        view = await call(rules.set_enabled, rule_id, enable, by=user.email)
        return back(request, f"Rule “{view.name}” is {'on' if view.enabled else 'off'}.")

    @router.post("/rules/{rule_id}/delete")
    async def remove(request: Request, rule_id: RowId, user: SignedInUser = Depends(admin_only)) -> Response:
        await call(rules.delete_rule, rule_id)
        return back(request, "Rule deleted.")

    @router.post("/rules/review/{run_id}/done")
    async def reviewed(request: Request, run_id: int, user: SignedInUser = Depends(admin_only)) -> Response:
        await call(rules.mark_reviewed, run_id)
        return back(request, "Removed from the review queue.")

    # --- JSON API ----------------------------------------------------------------------------------------------

    def invalid(error: RuleInvalid) -> JSONResponse:
        return JSONResponse({"detail": str(error), "errors": error.errors}, status_code=400)

    async def body(request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            raise RuleInvalid(["body: not valid JSON"]) from None

    @api.get("", summary="Every rule, in the order they are tried")
    async def api_list(user: SignedInUser = Depends(admin_only)) -> dict[str, Any]:
        return {"rules": [r.as_json() for r in await call(rules.list_rules)]}

    @api.post("", summary="Create a rule (disabled unless enabled is true)", status_code=201,
              openapi_extra=_RULE_BODY)
    async def api_create(request: Request, user: SignedInUser = Depends(admin_only)) -> Any:
        try:
            view = await call(rules.create_rule, await body(request), by=user.email)
        except RuleInvalid as error:
            return invalid(error)
        return JSONResponse(view.as_json(), status_code=201)

    @api.post("/dry-run", summary="What a rule would have done over past cases (nothing is saved)",
              openapi_extra=_RULE_BODY)
    async def api_dry_run(request: Request, since: str | None = None, until: str | None = None,
                          user: SignedInUser = Depends(admin_only)) -> Any:
        try:
            result = await call(rules.dry_run, await body(request), since=_moment(since), until=_moment(until))
        except RuleInvalid as error:
            return invalid(error)
        return result.as_json()

    @api.get("/{rule_id}", summary="One rule")
    async def api_get(rule_id: RowId, user: SignedInUser = Depends(admin_only)) -> Any:
        return await _found(lambda: call(rules.get_rule, rule_id))

    @api.put("/{rule_id}", summary="Replace a rule (its on/off state is kept unless enabled is given)",
             openapi_extra=_RULE_BODY)
    async def api_put(request: Request, rule_id: RowId, user: SignedInUser = Depends(admin_only)) -> Any:
        try:
            data = await body(request)
            return await _found(lambda: call(rules.update_rule, rule_id, data, by=user.email))
        except RuleInvalid as error:
            return invalid(error)

    @api.delete("/{rule_id}", summary="Delete a rule", status_code=204)
    async def api_delete(rule_id: RowId, user: SignedInUser = Depends(admin_only)) -> Response:
        try:
            await call(rules.delete_rule, rule_id)
        except rules.RuleNotFound as missing:
            return JSONResponse({"detail": str(missing)}, status_code=404)
        return Response(status_code=204)

    @api.post("/{rule_id}/dry-run", summary="Dry run of a saved rule")
    async def api_dry_saved(rule_id: RowId, since: str | None = None, until: str | None = None,
                            user: SignedInUser = Depends(admin_only)) -> Any:
        try:
            result = await call(rules.dry_run_saved, rule_id, since=_moment(since), until=_moment(until))
        except rules.RuleNotFound as missing:
            return JSONResponse({"detail": str(missing)}, status_code=404)
        except RuleInvalid as error:
            return invalid(error)
        return result.as_json()

    async def _found(work: Callable[[], Any]) -> Any:
        try:
            view = await work()
        except rules.RuleNotFound as missing:
            return JSONResponse({"detail": str(missing)}, status_code=404)
        return view.as_json()

    # The pages stay out of the OpenAPI document; the JSON API must be in it (a router hidden from the schema hides
    # every router included into it).
    combined = APIRouter()
    combined.include_router(router)
    combined.include_router(api)
    return combined
