"""Webhook consumer: drains the webhook queue into PostgreSQL at a capped concurrency."""
