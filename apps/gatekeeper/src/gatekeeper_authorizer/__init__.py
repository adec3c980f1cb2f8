"""TOKEN Lambda authorizer of the reports API."""
