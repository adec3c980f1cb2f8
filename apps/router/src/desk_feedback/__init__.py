"""The feedback task: files customer feedback the router sends it."""
