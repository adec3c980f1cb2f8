"""The common Lambda layer: observability, HTTP, validation, failure and idempotency helpers.

Import the submodule you need (``from common_layer.observability import instrument``).
This package imports nothing on purpose: it is on every function's cold-start path.
"""
