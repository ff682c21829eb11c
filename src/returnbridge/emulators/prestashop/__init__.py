"""PrestaShop webservice emulator for the subset of store-apis.md D.1 (orders, order details, credit slips,
stock_availables, order messages), in PrestaShop's XML and JSON formats. Imports nothing from the rest of
ReturnBridge."""
