"""GET /reports/{name}?period=...: cache-aside reads of a report."""
