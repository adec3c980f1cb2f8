"""Orders: the example caller of the pricing service (a synchronous Lambda invoke)."""
