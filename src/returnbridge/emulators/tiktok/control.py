"""The ``/_emulator/`` control API: JSON in, JSON out, no auth (it is a local test double).

It plays the parts no API client can: the buyer (open, ship, withdraw, escalate, answer a partial refund), the
platform (arbitration, refund completion, deadlines via the clock, deauthorization), and the test harness
(tokens on demand, faults, webhook chaos, state read-back, statistics). Every endpoint is documented with an
example in ``docs/emulator-tiktok.md``.

Errors: 400 for a malformed request, 404 for an unknown id, 409 when the World refuses a transition (the body
then carries the documented ``code`` and ``message`` the World raised).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from .errors import ApiError
from .faults import Fault
from .signing import first_values

if TYPE_CHECKING:
    from .app import EmulatorApp, Receive, Scope, Send

PREFIX = "/_emulator"
UPCOMING_EXPIRATION_DEFAULT_SECONDS = 30 * 24 * 3600


class ControlError(Exception):
    def __init__(self, status: int, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


ControlHandler = Callable[[dict[str, str], dict[str, str], dict], Any]


def _json_default(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


class ControlApi:
    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.world = app.world
        self._routes: list[tuple[str, tuple[str, ...], ControlHandler, str]] = []
        r = self._route
        r("GET", "/", self.index, "this list")
        r("GET", "/health", self.health, "liveness: 200 once the server answers")
        r("GET", "/config", self.get_config, "app credentials (key, service id), redirect URL, limits")
        r("POST", "/config", self.set_config, "change rps, latency_ms, fault_rate, redirect_url")
        r("POST", "/auth/code", self.mint_code, "mint an auth code for a seller (or a shop's seller)")
        r("POST", "/auth/token", self.issue_token, "issue tokens directly (scopes, user_type, expiry)")
        r("POST", "/auth/expire", self.expire_tokens, "expire a seller's access tokens now")
        r("POST", "/auth/revoke", self.revoke_tokens, "deauthorize a seller: revoke tokens, webhook type 6")
        r("POST", "/auth/upcoming_expiration", self.upcoming_expiration, "send webhook type 7")
        r("GET", "/sellers", self.list_sellers, "seeded and created sellers")
        r("GET", "/shops", self.list_shops, "all shops with ids and ciphers")
        r("POST", "/shops", self.create_shop, "create a shop")
        r("POST", "/seed", self.seed, "seed more returns/cancellations into one shop")
        r("POST", "/returns", self.create_return, "buyer opens a return/refund/replacement request")
        r("POST", "/cancellations", self.create_cancellation, "buyer asks to cancel an order")
        r("GET", "/requests/{id}", self.get_request, "one return or cancellation as the API shows it")
        r("POST", "/returns/{id}/ship", self.buyer_ship, "buyer ships the return parcel")
        r("POST", "/requests/{id}/withdraw", self.buyer_withdraw, "buyer withdraws a return or cancellation")
        r("POST", "/returns/{id}/escalate", self.buyer_escalate, "buyer escalates to arbitration")
        r("POST", "/returns/{id}/arbitration", self.resolve_arbitration, "platform decides: BUYER or SELLER")
        r("POST", "/returns/{id}/partial_refund_response", self.partial_refund_response,
          "buyer accepts or rejects a partial refund offer")
        r("POST", "/requests/{id}/complete_refund", self.complete_refund, "refund paid now: SUCCESS → COMPLETE")
        r("GET", "/clock", self.get_clock, "business time")
        r("POST", "/clock/advance", self.advance_clock, "move business time forward, then apply deadlines")
        r("POST", "/clock/set", self.set_clock, "set business time (forward only), then apply deadlines")
        r("GET", "/faults", self.list_faults, "scripted faults still pending, fault rate, latency")
        r("POST", "/faults", self.inject_fault, "fault for the next N requests on a path prefix")
        r("DELETE", "/faults", self.clear_faults, "clear scripted faults (all, or one path_prefix)")
        r("GET", "/webhooks", self.get_webhooks, "webhook URL, chaos knobs, subscriptions")
        r("PUT", "/webhooks", self.set_webhooks, "set the default URL and the chaos knobs")
        r("GET", "/webhooks/deliveries", self.list_deliveries, "delivery log, newest first")
        r("POST", "/webhooks/send", self.send_webhook, "send any webhook type with a given data object")
        r("GET", "/state", self.state, "full state read-back (World.snapshot)")
        r("GET", "/stats", self.get_stats, "request statistics per route")
        r("GET", "/decisions", self.list_decisions, "seller approve/reject calls that reached the World, in order")
        r("DELETE", "/stats", self.reset_stats, "reset request statistics")

    def _route(self, method: str, template: str, handler: ControlHandler, summary: str) -> None:
        self._routes.append((method, tuple(template.strip("/").split("/")) if template != "/" else (), handler,
                             summary))

    # --- dispatch ----------------------------------------------------------------------------------------------

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        from .app import read_body, send_bytes

        started = time.perf_counter()
        raw, _ = await read_body(receive)
        path: str = scope["path"][len(PREFIX):] or "/"
        if path.startswith("/media/"):
            await self._media(path[len("/media/"):], send)
            return
        status = 200
        try:
            handler, params = self._match(scope["method"], path)
            query = first_values(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError:
                raise ControlError(400, "the body must be JSON") from None
            if not isinstance(body, dict):
                raise ControlError(400, "the body must be a JSON object")
            result = handler(params, query, body)
            payload = orjson.dumps(result, default=_json_default)
        except ControlError as error:
            status = error.status
            payload = orjson.dumps({"error": {"code": error.code, "message": error.message}})
        except ApiError as error:
            status = 409
            payload = orjson.dumps({"error": {"code": error.code, "message": error.message}})
        except (ValueError, TypeError) as error:
            status = 409 if isinstance(error, ValueError) else 400
            payload = orjson.dumps({"error": {"code": None, "message": str(error)}})
        except KeyError as error:
            status = 404
            payload = orjson.dumps({"error": {"code": None, "message": f"not found: {error.args[0]}"}})
        await send_bytes(send, status, payload)
        # Control calls are counted together: ids in their paths would make one entry per request.
        self.app.stats.record(f"{PREFIX}/ (control API)", 0, status, time.perf_counter() - started)

    def _match(self, method: str, path: str) -> tuple[ControlHandler, dict[str, str]]:
        parts = tuple(p for p in path.strip("/").split("/") if p)
        path_known = False
        for route_method, segments, handler, _ in self._routes:
            if len(segments) != len(parts):
                continue
            params: dict[str, str] = {}
            for pattern, part in zip(segments, parts, strict=True):
                if pattern.startswith("{"):
                    params[pattern[1:-1]] = part
                elif pattern != part:
                    break
            else:
                path_known = True
                if route_method == method:
                    return handler, params
        if path_known:
            raise ControlError(405, f"{method} is not supported on {PREFIX}{path}")
        raise ControlError(404, f"no control endpoint at {PREFIX}{path}")

    async def _media(self, key: str, send: Send) -> None:
        from .app import send_bytes

        content, content_type = self.app.media.get(key)
        await send_bytes(send, 200, content, [(b"content-type", content_type.encode()),
                                              (b"cache-control", b"public, max-age=86400")])

    # --- helpers -------------------------------------------------------------------------------------------------

    def _shop(self, body: dict, query: dict[str, str] | None = None, *, required: bool = True) -> Any:
        """The shop named by ``shop_id`` or ``shop_cipher`` (body first, then query); the first shop if neither."""
        source = {**(query or {}), **body}
        with self.world.lock:
            if source.get("shop_id"):
                shop = self.world.shop_by_id(str(source["shop_id"]))
                if shop is None:
                    raise KeyError(f"shop {source['shop_id']}")
                return shop
            if source.get("shop_cipher"):
                shop = self.world.shop_by_cipher(str(source["shop_cipher"]))
                if shop is None:
                    raise KeyError(f"shop {source['shop_cipher']}")
                return shop
            if not required:
                return None
            shops = self.world.shops()
            if not shops:
                raise ControlError(409, "there are no shops")
            return shops[0]

    def _seller_id(self, body: dict) -> str:
        if body.get("seller_id"):
            seller_id = str(body["seller_id"])
            if self.app.auth.seller(seller_id) is None:
                raise KeyError(f"seller {seller_id}")
            return seller_id
        return self._shop(body).seller_id

    def _seller_shop_ids(self, seller_id: str) -> list[str]:
        with self.world.lock:
            return [s.id for s in self.world.shops() if s.seller_id == seller_id]

    def _request_id(self, params: dict[str, str]) -> str:
        return params["id"]

    def _world_action(self, action: Callable[[], dict], request_id: str | None = None) -> dict:
        with self.world.lock:
            # An unknown id is a 404 here; the World reports it like any refused transition.
            if request_id is not None and self.world.find_request(request_id) is None:
                raise KeyError(f"request {request_id}")
            return action()

    @staticmethod
    def _int(body: dict, name: str, default: int | None = None) -> int | None:
        value = body.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ControlError(400, f"{name} must be a number")
        try:
            return int(value)
        except ValueError:
            raise ControlError(400, f"{name} must be a number") from None

    # --- general -------------------------------------------------------------------------------------------------

    def index(self, params: dict, query: dict, body: dict) -> dict:
        return {
            "endpoints": [
                {"method": method, "path": PREFIX + ("/" + "/".join(segments) if segments else "/"),
                 "summary": summary}
                for method, segments, _, summary in self._routes
            ]
            + [{"method": "GET", "path": PREFIX + "/media/{key}", "summary": "deterministic image bytes"}]
        }

    def health(self, params: dict, query: dict, body: dict) -> dict:
        return {"ok": True, "base_url": self.app.base_url, "app_key": self.app.credentials.app_key}

    def get_config(self, params: dict, query: dict, body: dict) -> dict:
        credentials = self.app.credentials
        return {
            "base_url": self.app.base_url,
            "app_key": credentials.app_key,
            "service_id": credentials.service_id,
            "redirect_url": credentials.redirect_url,
            "consent_url": f"{self.app.base_url}/open/authorize?service_id={credentials.service_id}&state=STATE",
            "rps": self.app.limiter.rps,
            "latency_ms": self.app.faults.latency_ms,
            "fault_rate": self.app.faults.fault_rate,
            "time_scale": self.world.clock.time_scale,
            "auth_error_status": self.app.gate.auth_error_status,
        }

    def set_config(self, params: dict, query: dict, body: dict) -> dict:
        if "rps" in body:
            self.app.limiter.rps = float(body["rps"])
        if "latency_ms" in body:
            self.app.faults.latency_ms = max(0, int(body["latency_ms"]))
        if "fault_rate" in body:
            rate = float(body["fault_rate"])
            if not 0.0 <= rate <= 1.0:
                raise ControlError(400, "fault_rate must be between 0 and 1")
            self.app.faults.fault_rate = rate
        if "redirect_url" in body:
            credentials = self.app.credentials
            self.app.credentials = type(credentials)(
                credentials.app_key, credentials.app_secret, credentials.service_id, body["redirect_url"]
            )
        if "auth_error_status" in body:
            self.app.gate.auth_error_status = int(body["auth_error_status"])
        return self.get_config(params, query, {})

    # --- auth ------------------------------------------------------------------------------------------------------

    def mint_code(self, params: dict, query: dict, body: dict) -> dict:
        code = self.app.auth.mint_code(self._seller_id(body))
        return {"code": code.code, "seller_id": code.seller_id, "expires_at": code.expires_at}

    def issue_token(self, params: dict, query: dict, body: dict) -> dict:
        seller_id = self._seller_id(body)
        scopes = body.get("scopes")
        if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
            raise ControlError(400, "scopes must be a list of strings")
        access_expires_at = self._int(body, "access_expires_at")
        ttl = self._int(body, "access_ttl_seconds")
        if access_expires_at is None and ttl is not None:
            access_expires_at = self.world.clock.now() + ttl
        token = self.app.auth.issue(
            seller_id,
            scopes=scopes,
            user_type=self._int(body, "user_type", 0) or 0,
            access_expires_at=access_expires_at,
            refresh_expires_at=self._int(body, "refresh_expires_at"),
        )
        return token.response_data()

    def expire_tokens(self, params: dict, query: dict, body: dict) -> dict:
        seller_id = self._seller_id(body)
        touched = self.app.auth.expire(seller_id, include_refresh=bool(body.get("include_refresh", False)))
        return {"seller_id": seller_id, "expired": touched}

    def revoke_tokens(self, params: dict, query: dict, body: dict) -> dict:
        seller_id = self._seller_id(body)
        revoked = self.app.auth.revoke(seller_id)
        message = str(body.get("message") or "The seller has deauthorized the app.")
        notifications = self._notify_seller(seller_id, 6, {"message": message})
        return {"seller_id": seller_id, "revoked": revoked, "notifications": notifications}

    def upcoming_expiration(self, params: dict, query: dict, body: dict) -> dict:
        seller_id = self._seller_id(body)
        expiration_time = self._int(body, "expiration_time")
        if expiration_time is None:
            expiration_time = self.world.clock.now() + UPCOMING_EXPIRATION_DEFAULT_SECONDS
        message = str(body.get("message") or "The authorization of the app will expire soon; please re-authorize.")
        notifications = self._notify_seller(seller_id, 7, {"message": message, "expiration_time": expiration_time})
        return {"seller_id": seller_id, "notifications": notifications}

    def _notify_seller(self, seller_id: str, event_type: int, data: dict) -> list[str]:
        sent = []
        for shop_id in self._seller_shop_ids(seller_id):
            delivery = self.app.webhooks.publish(shop_id, event_type, data)
            if delivery is not None:
                sent.append(delivery.notification_id)
        return sent

    # --- sellers, shops, seeding -----------------------------------------------------------------------------------

    def list_sellers(self, params: dict, query: dict, body: dict) -> dict:
        with self.world.lock:
            return {"sellers": [asdict(s) for s in self.world.sellers()]}

    def list_shops(self, params: dict, query: dict, body: dict) -> dict:
        with self.world.lock:
            return {"shops": [asdict(s) for s in self.world.shops()]}

    def create_shop(self, params: dict, query: dict, body: dict) -> dict:
        region, currency = body.get("region"), body.get("currency")
        if not isinstance(region, str) or not isinstance(currency, str):
            raise ControlError(400, "region and currency are required strings")
        with self.world.lock:
            shop = self.world.add_shop(region=region, currency=currency, name=body.get("name"),
                                       seller_id=body.get("seller_id"))
        return asdict(shop)

    def seed(self, params: dict, query: dict, body: dict) -> dict:
        shop = self._shop(body)
        returns = self._int(body, "returns", 0) or 0
        cancellations = self._int(body, "cancellations", 0) or 0
        if returns < 0 or cancellations < 0:
            raise ControlError(400, "returns and cancellations must not be negative")
        started = time.perf_counter()
        with self.world.lock:
            self.world.seed_requests(shop, returns, cancellations)
        return {"shop_id": shop.id, "returns": returns, "cancellations": cancellations,
                "seconds": round(time.perf_counter() - started, 3)}

    # --- buyer and platform actions --------------------------------------------------------------------------------

    def create_return(self, params: dict, query: dict, body: dict) -> dict:
        shop = self._shop(body)
        options: dict[str, Any] = {}
        for name in ("return_type", "order_id", "reason"):
            if body.get(name) is not None:
                options[name] = str(body[name])
        if body.get("units") is not None:
            options["units"] = self._int(body, "units")
        return self._world_action(lambda: self.world.create_return_request(shop, **options))

    def create_cancellation(self, params: dict, query: dict, body: dict) -> dict:
        shop = self._shop(body)
        options: dict[str, Any] = {}
        if body.get("order_id") is not None:
            options["order_id"] = str(body["order_id"])
        if body.get("units") is not None:
            options["units"] = self._int(body, "units")
        return self._world_action(lambda: self.world.create_cancellation_request(shop, **options))

    def get_request(self, params: dict, query: dict, body: dict) -> dict:
        with self.world.lock:
            found = self.world.find_request(params["id"])
        if found is None:
            raise KeyError(f"request {params['id']}")
        return found

    def buyer_ship(self, params: dict, query: dict, body: dict) -> dict:
        tracking = body.get("tracking_number")
        return self._world_action(
            lambda: self.world.buyer_ship(params["id"], tracking_number=None if tracking is None else str(tracking)),
            params["id"],
        )

    def buyer_withdraw(self, params: dict, query: dict, body: dict) -> dict:
        return self._world_action(lambda: self.world.buyer_withdraw(params["id"]), params["id"])

    def buyer_escalate(self, params: dict, query: dict, body: dict) -> dict:
        return self._world_action(lambda: self.world.buyer_escalate(params["id"]), params["id"])

    def resolve_arbitration(self, params: dict, query: dict, body: dict) -> dict:
        winner = body.get("winner")
        if winner not in ("BUYER", "SELLER"):
            raise ControlError(400, "winner must be BUYER or SELLER")
        return self._world_action(lambda: self.world.resolve_arbitration(params["id"], winner), params["id"])

    def partial_refund_response(self, params: dict, query: dict, body: dict) -> dict:
        accept = body.get("accept")
        if not isinstance(accept, bool):
            raise ControlError(400, "accept must be true or false")
        return self._world_action(lambda: self.world.buyer_respond_partial_refund(params["id"], accept), params["id"])

    def complete_refund(self, params: dict, query: dict, body: dict) -> dict:
        return self._world_action(lambda: self.world.complete_refund(params["id"]), params["id"])

    # --- clock -----------------------------------------------------------------------------------------------------

    def get_clock(self, params: dict, query: dict, body: dict) -> dict:
        clock = self.world.clock
        return {"now": clock.now(), "now_float": clock.now_float(), "time_scale": clock.time_scale,
                "real_now": time.time()}

    def advance_clock(self, params: dict, query: dict, body: dict) -> dict:
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ControlError(400, "seconds must be a non-negative number")
        self.world.clock.advance(seconds)
        self.app.tick()
        return self.get_clock(params, query, body)

    def set_clock(self, params: dict, query: dict, body: dict) -> dict:
        timestamp = body.get("timestamp")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
            raise ControlError(400, "timestamp must be a number")
        self.world.clock.set(timestamp)
        self.app.tick()
        return self.get_clock(params, query, body)

    # --- faults ----------------------------------------------------------------------------------------------------

    def list_faults(self, params: dict, query: dict, body: dict) -> dict:
        faults = self.app.faults
        return {"scripted": faults.scripted(), "fault_rate": faults.fault_rate, "latency_ms": faults.latency_ms}

    def inject_fault(self, params: dict, query: dict, body: dict) -> dict:
        path_prefix = body.get("path_prefix", "/")
        if not isinstance(path_prefix, str) or not path_prefix.startswith("/"):
            raise ControlError(400, "path_prefix must start with /")
        drop = bool(body.get("drop", False))
        delay_only = "code" in body and body["code"] is None
        code = None if delay_only else self._int(body, "code", 36009003)
        fault = Fault(
            code=code,
            http_status=self._int(body, "http_status", 200) or 200,
            message=body.get("message"),
            delay_ms=self._int(body, "delay_ms", 0) or 0,
            retry_after=self._int(body, "retry_after"),
            drop=drop,
        )
        scripted = self.app.faults.inject(path_prefix, self._int(body, "count", 1) or 1, fault)
        return scripted.describe()

    def clear_faults(self, params: dict, query: dict, body: dict) -> dict:
        prefix = body.get("path_prefix", query.get("path_prefix"))
        return {"cleared": self.app.faults.clear(prefix)}

    # --- webhooks --------------------------------------------------------------------------------------------------

    def get_webhooks(self, params: dict, query: dict, body: dict) -> dict:
        webhooks = self.app.webhooks
        with self.world.lock:
            shop_ids = [s.id for s in self.world.shops()]
        subscriptions = {
            shop_id: [asdict(s) for s in webhooks.subscriptions(shop_id)]
            for shop_id in shop_ids
            if webhooks.subscriptions(shop_id)
        }
        return {**webhooks.settings(), "subscriptions": subscriptions}

    def set_webhooks(self, params: dict, query: dict, body: dict) -> dict:
        webhooks = self.app.webhooks
        knobs = {k: v for k, v in body.items() if k != "url"}
        if "url" in body:
            url = body["url"]
            if url is not None and not isinstance(url, str):
                raise ControlError(400, "url must be a string or null")
            webhooks.default_url = url or None
        try:
            webhooks.chaos.update(knobs)
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        return self.get_webhooks(params, query, {})

    def list_deliveries(self, params: dict, query: dict, body: dict) -> dict:
        event_type = self._int(query, "type")
        deliveries = self.app.webhooks.deliveries(
            limit=self._int(query, "limit", 100) or 100,
            shop_id=query.get("shop_id"),
            event_type=event_type,
            state=query.get("state"),
        )
        return {"deliveries": deliveries, "idle": self.app.webhooks.is_idle()}

    def send_webhook(self, params: dict, query: dict, body: dict) -> dict:
        shop = self._shop(body)
        event_type = self._int(body, "type")
        data = body.get("data", {})
        if event_type is None or not isinstance(data, dict):
            raise ControlError(400, "type (int) and data (object) are required")
        delivery = self.app.webhooks.publish(shop.id, event_type, data)
        return {"notification_id": None if delivery is None else delivery.notification_id}

    # --- read-back -------------------------------------------------------------------------------------------------

    def state(self, params: dict, query: dict, body: dict) -> Any:
        shop = self._shop({}, query, required=False)
        limit = self._int(query, "limit")
        with self.world.lock:
            snapshot = self.world.snapshot(shop, limit=limit)
        return snapshot

    def get_stats(self, params: dict, query: dict, body: dict) -> dict:
        return self.app.stats.snapshot()

    def list_decisions(self, params: dict, query: dict, body: dict) -> dict:
        return {"decisions": self.app.decisions.calls()}

    def reset_stats(self, params: dict, query: dict, body: dict) -> dict:
        self.app.stats.reset()
        return {"ok": True}
