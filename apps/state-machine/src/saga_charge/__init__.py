"""Charges the order's amount.

A Task of the order saga; idempotent, as Step Functions may retry it.
"""
