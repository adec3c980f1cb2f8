"""New invoices service: the route a stack parameter moves from legacy to new."""
