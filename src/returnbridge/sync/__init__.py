"""Moving data: ingest (TikTok → DB), decisions (merchant → TikTok), jobs (queue and schedule)."""
