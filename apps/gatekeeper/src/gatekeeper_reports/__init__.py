"""The protected backend: the reports API behind the authorizer."""
