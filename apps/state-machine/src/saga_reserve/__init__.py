"""Holds the order's items.

A Task of the order saga; idempotent, as Step Functions may retry it.
"""
