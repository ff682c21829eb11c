"""tiktok layer."""
