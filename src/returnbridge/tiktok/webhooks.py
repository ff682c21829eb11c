"""Parsing of TikTok webhook bodies (contract §5.2); verify the signature first with ``verify_webhook``."""

from __future__ import annotations

from pydantic import ValidationError

from .models import WebhookEvent


class MalformedWebhook(ValueError):
    """The body is not JSON or lacks an envelope field (type, tts_notification_id, shop_id, timestamp, data)."""


def parse_webhook(body: bytes) -> WebhookEvent:
    """The webhook envelope from the raw body bytes; raises ``MalformedWebhook`` with the reason."""
    try:
        return WebhookEvent.model_validate_json(body)
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in invalid.errors(include_url=False)
        )
        raise MalformedWebhook(f"malformed TikTok webhook: {problems}") from invalid
