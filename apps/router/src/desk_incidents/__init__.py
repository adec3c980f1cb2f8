"""The incidents task: opens incidents the router sends it."""
