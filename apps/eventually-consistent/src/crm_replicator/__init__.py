"""Replicator: applies the accounts table's stream to PostgreSQL, newest version wins."""
