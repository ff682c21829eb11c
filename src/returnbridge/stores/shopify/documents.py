"""The GraphQL documents the adapter sends (Admin API 2026-04), after store-apis.md Appendix A.5.

Connection sizes are kept small: Shopify charges a connection by its ``first`` times its children, and the bucket,
not the network, is what limits a mirror run.
"""

from __future__ import annotations

ORDER_FIELDS = """
      id name currencyCode sourceName sourceIdentifier tags
      customAttributes { key value }
      transactions { id kind status gateway }
      lineItems(first: 20) { nodes { id sku quantity refundableQuantity variant { id inventoryItem { id tracked } } } }
      fulfillments(first: 3) {
        id location { id }
        fulfillmentLineItems(first: 20) { nodes { id quantity lineItem { id } } }
      }
"""

FIND_ORDERS = (
    "query FindOrder($q: String!, $first: Int!, $after: String) {\n"
    "  orders(first: $first, after: $after, query: $q, sortKey: CREATED_AT, reverse: true) {\n"
    f"    nodes {{{ORDER_FIELDS}    }}\n"
    "    pageInfo { hasNextPage endCursor }\n"
    "  }\n"
    "}\n"
)

GET_ORDER = f"query GetOrder($id: ID!) {{\n  order(id: $id) {{{ORDER_FIELDS}  }}\n}}\n"

ORDER_RETURNS = """
query OrderReturns($id: ID!) {
  order(id: $id) {
    id
    returns(first: 10) {
      nodes {
        id name status
        returnLineItems(first: 10) { nodes { ... on ReturnLineItem { id quantity returnReasonNote } } }
      }
    }
  }
}
"""

ORDER_REFUNDS = """
query OrderRefunds($id: ID!) {
  order(id: $id) {
    id
    refunds(first: 50) { id note createdAt totalRefundedSet { shopMoney { amount currencyCode } } }
  }
}
"""

SHOP = """
query Shop {
  shop { myshopifyDomain currencyCode }
}
"""

PRIMARY_LOCATION = """
query PrimaryLocation {
  location { id }
}
"""

RETURN_CREATE = """
mutation Ret($in: ReturnInput!) {
  returnCreate(returnInput: $in) {
    return { id name status }
    userErrors { field message code }
  }
}
"""

# Ending a return (store-apis.md A.3.2-A.3.3): decline is only for REQUESTED returns, cancel for OPEN ones not
# processed yet, close for OPEN ones that were. None of them takes @idempotent; each is a no-op once done.
RETURN_DECLINE = """
mutation Decline($in: ReturnDeclineRequestInput!) {
  returnDeclineRequest(input: $in) {
    return { id name status }
    userErrors { field message code }
  }
}
"""

RETURN_CANCEL = """
mutation Cancel($id: ID!) {
  returnCancel(id: $id) {
    return { id name status }
    userErrors { field message code }
  }
}
"""

RETURN_CLOSE = """
mutation Close($id: ID!) {
  returnClose(id: $id) {
    return { id name status }
    userErrors { field message code }
  }
}
"""

REFUND_CREATE = """
mutation Refund($in: RefundInput!, $key: String!) {
  refundCreate(input: $in) @idempotent(key: $key) {
    refund { id note totalRefundedSet { shopMoney { amount currencyCode } } }
    order { id displayFinancialStatus }
    userErrors { field message }
  }
}
"""

INVENTORY_ADJUST = """
mutation Restock($in: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $in) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri changes { name delta item { id } location { id } } }
    userErrors { field message code }
  }
}
"""
