"""Pricing service: an internal API reached only through Lambda Invoke."""
