"""ReturnBridge: TikTok Shop returns, refunds and cancellations, mirrored into your store."""

__version__ = "0.1.0"
