"""Loyalty service: a customer's points balance and tier (an optional part of the overview)."""
