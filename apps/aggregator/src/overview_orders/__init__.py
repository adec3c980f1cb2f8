"""Orders service: a customer's most recent orders (an optional part of the overview)."""
