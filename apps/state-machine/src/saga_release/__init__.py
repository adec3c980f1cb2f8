"""Compensation: releases the order's reservation if it was held.

A Task of the order saga; idempotent, as Step Functions may retry it.
"""
