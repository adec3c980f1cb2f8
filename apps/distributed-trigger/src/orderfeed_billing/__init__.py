"""Billing, a subscriber service: placed and refunded orders -> charges and refunds."""
