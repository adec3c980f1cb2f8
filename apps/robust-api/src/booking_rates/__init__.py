"""The rates service: an internal API (Lambda invoke, no HTTP) that quotes a stay in a room."""
