"""The worker: one task (one input file) per message, counted once; the last one fans in."""
