"""The billing events topic's message contract, shared by the example subscribers.

A subscriber of another service would vendor this module (or its JSON Schema) rather than
import it: the contract is the only thing publishers and subscribers have in common.
"""
