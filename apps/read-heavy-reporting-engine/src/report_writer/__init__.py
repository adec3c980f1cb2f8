"""PUT /reports/{name}/data: upsert a report's rows in PostgreSQL and announce the change."""
