"""Magento's REST error body (store-apis.md B.5): ``{"message": "... %1 ...", "parameters": [...]}``.

The message keeps its placeholders and the values travel in ``parameters``, as Magento's webapi error processor
does for a ``LocalizedException``; clients render them.
"""

from __future__ import annotations

from typing import Any

NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
BAD_SIGN_IN = ("The account sign-in was incorrect or your account is disabled temporarily. Please wait and try "
               "again later.")
NO_ENTITY = "The entity that was requested doesn't exist. Verify the entity and try again."
NO_ROUTE = "Request does not match any route."


class MagentoError(Exception):
    def __init__(self, status: int, message: str, parameters: list[Any] | dict[str, Any] | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters = parameters if parameters is not None else []
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "parameters": self.parameters}
        if self.errors:
            body["errors"] = self.errors
        return body


def not_authorized(resource: str) -> MagentoError:
    return MagentoError(401, NOT_AUTHORIZED, {"resources": resource})


def not_found() -> MagentoError:
    return MagentoError(404, NO_ENTITY)


def bad_request(message: str, parameters: list[Any] | None = None) -> MagentoError:
    return MagentoError(400, message, parameters or [])
