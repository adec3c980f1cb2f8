"""Confirms the paid order.

A Task of the order saga; idempotent, as Step Functions may retry it.
"""
