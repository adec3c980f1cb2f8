"""Stand-in legacy HTTP API: what the façade proxies unmigrated requests to."""
