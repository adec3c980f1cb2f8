"""The orders API: POST /orders starts the order saga, GET /orders/{order_id} reads it."""
