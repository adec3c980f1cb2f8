"""The aggregator: GET /customers/{customerId}/overview, fanned out to three services."""
