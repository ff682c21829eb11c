"""Keeping secrets out of the log: the HTTP client's own request lines.

httpx logs every request at INFO with its full URL ("HTTP Request: GET https://...?..."), and TikTok's token calls
carry the app secret, the auth code and the refresh token in the query string (contract §2.2); WooCommerce and
PrestaShop accept keys there too. ``returnbridge serve`` and ``worker`` log at INFO, so without this filter every
token refresh would write the app secret and a live refresh token into the operator's log.
"""

from __future__ import annotations

import logging
import re

# Query parameters whose values are credentials on some platform we call.
SECRET_PARAMETERS = (
    "app_secret", "access_token", "refresh_token", "auth_code", "code", "consumer_key", "consumer_secret",
    "ws_key", "key", "password", "secret", "token", "client_secret", "api_key",
)
_SECRET_VALUE = re.compile(rf"([?&](?:{'|'.join(SECRET_PARAMETERS)})=)[^&#\s\"']*", re.IGNORECASE)
REDACTED = "[redacted]"
# The loggers of the HTTP stack we use; each line they write may carry a URL (httpcore's DEBUG lines show response
# headers, such as a redirect's Location). A logger's filters see only records made on that very logger, not on its
# children, hence every httpcore logger by name.
HTTP_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")


def redact(text: str) -> str:
    """``text`` with the value of every secret query parameter replaced by ``[redacted]``."""
    return _SECRET_VALUE.sub(rf"\g<1>{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with secret query values hidden (the record is still logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = redact(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


def hide_secrets_in_http_logs() -> None:
    """Attach the filter to the HTTP client's loggers, once per process (a filter on the logger itself applies
    whatever handlers the operator configures)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactSecrets) for existing in logger.filters):
            logger.addFilter(RedactSecrets())
