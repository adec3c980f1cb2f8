"""Compensation: refunds the order's payment if it was charged.

A Task of the order saga; idempotent, as Step Functions may retry it.
"""
