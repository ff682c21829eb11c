"""TikTok Shop Partner API emulator (open-api + auth host + consent page + control API)."""
