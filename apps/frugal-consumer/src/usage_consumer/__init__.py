"""Usage consumer: drains the usage queue into PostgreSQL (the Frugal Consumer pattern)."""
