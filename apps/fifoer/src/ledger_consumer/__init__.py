"""Ledger consumer: per-account events from an SQS FIFO queue, applied strictly in order."""
