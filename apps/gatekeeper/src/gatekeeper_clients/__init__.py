"""The authorization service's client registry, shared by the authorizer and the admin functions."""
