"""A Magento 2 / Adobe Commerce REST emulator (store-apis.md part B): imports nothing from the rest of returnbridge."""
