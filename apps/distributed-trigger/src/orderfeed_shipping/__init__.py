"""Shipping, a subscriber service: placed and cancelled orders -> shipments to prepare."""
