"""Webhook receiver: checks a webhook, queues it and answers 202 (the Scalable Webhook pattern)."""
