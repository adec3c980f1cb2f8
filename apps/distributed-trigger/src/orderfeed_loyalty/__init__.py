"""Loyalty, a subscriber service: orders of 50 or more -> loyalty points."""
