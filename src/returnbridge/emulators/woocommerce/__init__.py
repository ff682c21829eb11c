"""WooCommerce REST API v3 emulator (orders, refunds, order notes, products' stock): an independent reading of
store-apis.md part C. Imports nothing from the rest of ReturnBridge."""
