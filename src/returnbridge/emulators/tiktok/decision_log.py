"""The record of seller decisions that reached the World: approve and reject calls on returns and cancellations.

A replay of a stored answer (same idempotency key) and a request failed by an injected fault never reach the World,
so they are not recorded: what is left is what TikTok acted on or refused on its merits. A chaos run reads it back
(``GET /_emulator/decisions``) to prove that no decision was sent twice.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

# Route templates end so; ``{return_id}`` / ``{cancel_id}`` name the request.
_DECISION_ENDINGS = ("/approve", "/reject")


@dataclass(frozen=True)
class DecisionCall:
    request_id: str
    call: str  # "approve" or "reject", with the kind: "returns/approve", "cancellations/reject"
    decision: str  # the body's ``decision`` (returns); empty for cancellations, whose call is the decision
    idempotency_key: str
    code: int  # 0 when the World applied it, else the business error it answered with
    shop_id: str


def is_decision_route(template: str) -> bool:
    return template.endswith(_DECISION_ENDINGS) and ("/returns/" in template or "/cancellations/" in template)


class DecisionLog:
    def __init__(self) -> None:
        self._calls: list[DecisionCall] = []
        self._lock = threading.Lock()

    def record(self, template: str, params: dict[str, str], body: dict, idempotency_key: str, code: int,
               shop_id: str) -> None:
        kind = "returns" if "/returns/" in template else "cancellations"
        request_id = params.get("return_id") or params.get("cancel_id") or ""
        decision = body.get("decision") if isinstance(body.get("decision"), str) else ""
        call = DecisionCall(request_id, f"{kind}/{template.rsplit('/', 1)[1]}", decision, idempotency_key, code,
                            shop_id)
        with self._lock:
            self._calls.append(call)

    def calls(self) -> list[dict]:
        with self._lock:
            return [asdict(c) for c in self._calls]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
