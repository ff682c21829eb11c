"""Shopify Admin GraphQL API emulator (2026-04): orders, returns, refunds, inventory, cost-based throttling and a
control API. An independent reading of ``shared/docs/store-apis.md`` part A; imports nothing from ReturnBridge."""
