"""The jobs table, shared by the API, the workers and the aggregator (see ``jobs``)."""
