"""What the reporting engine's three functions share: report names and periods, cache keys,
the PostgreSQL store (RDS Data API) and the Redis cache."""
