"""ReturnBridge: TikTok Shop returns, refunds and cancellations, mirrored into your store."""

from returnbridge.secrets_in_logs import hide_secrets_in_http_logs

__version__ = "0.1.0"

# Here, not in a command: every process that imports any part of ReturnBridge (serve, worker, the CLI, tests)
# must have it before its first HTTP call.
hide_secrets_in_http_logs()
