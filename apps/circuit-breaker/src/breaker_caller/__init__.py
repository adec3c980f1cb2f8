"""The caller: a REST API that checks a supplier's stock through a circuit breaker."""
