"""Reports: reads the PostgreSQL copy of the accounts (eventually consistent with writes)."""
