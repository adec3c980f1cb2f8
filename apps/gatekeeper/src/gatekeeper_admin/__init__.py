"""Internal admin API of the authorization service (lambda.invoke only)."""
